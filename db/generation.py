"""Reconciling slot instances with what the rules imply, set based.

The desired slots are copied into a temporary table in one COPY; a handful of
statements then create the missing ones, block the open ones no rule covers any
more (slots with bookings or holds are kept and counted as conflicts), and reopen
blocked slots that rules cover again. Running it twice creates nothing.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db.rules import location_rules
from domain.rules import EXCEPTION, expand
from domain.timezones import zone


@dataclass(frozen=True)
class Result:
    created: int
    unchanged: int
    blocked: int
    conflicts: int


_SCOPE = (
    "s.location_id = :loc AND s.date BETWEEN :first AND :last"
    " AND (CAST(:person AS uuid) IS NULL OR s.person_id = CAST(:person AS uuid))"
)
# Equality on a coalesced person (not IS NOT DISTINCT FROM) so Postgres can hash the join.
_NOBODY = "'00000000-0000-0000-0000-000000000000'::uuid"
_DESIRED = (
    f"EXISTS (SELECT 1 FROM desired d WHERE coalesce(d.person_id, {_NOBODY})"
    f" = coalesce(s.person_id, {_NOBODY}) AND d.start_at = s.start_at)"
)


async def _owners(
    conn: AsyncConnection, location_id: uuid.UUID, person_id: uuid.UUID | None
) -> list[uuid.UUID | None]:
    rows = (
        await conn.execute(
            text("SELECT id FROM people WHERE location_id = :loc AND active ORDER BY id"),
            {"loc": location_id},
        )
    ).all()
    people = [r.id for r in rows]
    if person_id is not None:
        return [person_id] if person_id in people else []
    return [None, *people]


async def _desired_rows(
    conn: AsyncConnection,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
    first: dt.date,
    last: dt.date,
) -> list[tuple]:
    tz = await conn.scalar(
        text("SELECT timezone FROM locations WHERE id = :id"), {"id": location_id}
    )
    rules = await location_rules(conn, location_id)
    shared = [r for r in rules if r.person_id is None and r.kind == EXCEPTION]
    rows = []
    for owner in await _owners(conn, location_id, person_id):
        own = [r for r in rules if r.person_id == owner]
        exceptions = shared if owner is not None else []
        for spec in expand(own, exceptions, first, last, zone(tz)):
            rows.append((new_id(), owner, spec.date, spec.start_at, spec.end_at, spec.capacity))
    return rows


async def reconcile(
    conn: AsyncConnection,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
    first: dt.date,
    last: dt.date,
) -> Result:
    rows = await _desired_rows(conn, location_id, person_id, first, last)
    await conn.execute(
        text(
            "CREATE TEMPORARY TABLE desired (id uuid, person_id uuid, date date,"
            " start_at timestamptz, end_at timestamptz, capacity smallint) ON COMMIT DROP"
        )
    )
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table("desired", records=rows)
    # Indexed and analyzed, so the anti-joins below stay index lookups on any table size.
    await conn.execute(
        text(f"CREATE INDEX ON desired ((coalesce(person_id, {_NOBODY})), start_at)")
    )
    await conn.execute(text("ANALYZE desired"))
    params = {"loc": location_id, "first": first, "last": last, "person": person_id}
    created = (
        await conn.execute(
            text(
                "INSERT INTO slot_instances (id, location_id, person_id, date, start_at, end_at,"
                " capacity) SELECT id, :loc, person_id, date, start_at, end_at, capacity"
                " FROM desired ON CONFLICT DO NOTHING"
            ),
            {"loc": location_id},
        )
    ).rowcount
    blocked = (
        await conn.execute(
            text(
                f"UPDATE slot_instances s SET status = 'blocked', version = s.version + 1,"
                f" updated_at = now() WHERE {_SCOPE} AND s.status <> 'blocked'"
                f" AND s.booked = 0 AND s.hold = 0 AND NOT {_DESIRED}"
            ),
            params,
        )
    ).rowcount
    conflicts = await conn.scalar(
        text(
            f"SELECT count(*) FROM slot_instances s WHERE {_SCOPE}"
            f" AND (s.booked > 0 OR s.hold > 0) AND NOT {_DESIRED}"
        ),
        params,
    )
    await conn.execute(
        text(
            f"UPDATE slot_instances s SET version = s.version + 1, updated_at = now(),"
            f" status = CASE WHEN s.booked + s.hold >= s.capacity THEN 'full'"
            f" WHEN s.booked + s.hold > 0 THEN 'partial' ELSE 'open' END"
            f" WHERE {_SCOPE} AND s.status = 'blocked' AND {_DESIRED}"
        ),
        params,
    )
    return Result(created, len(rows) - created, blocked, conflicts)
