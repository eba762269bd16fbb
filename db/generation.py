"""Reconciling slot instances with what the rules imply, set based.

Runs for one location take turns (a transaction lock), so what a run reads about its
range is still true when it writes. It takes the cheapest way that is exact:

- nothing exists yet where the desired slots go, as on a first run: they are expanded
  owner by owner while one COPY streams them straight into `slot_instances`;
- otherwise one aggregate reads the starts of the slots not blocked, by owner. An owner
  (a person, or the location itself) whose slots are exactly the desired ones, as on a
  re-run, is left alone. The desired slots of the other owners are copied into a
  temporary table in one COPY, and a handful of statements create the missing ones,
  block the open ones no rule covers any more (slots with bookings or holds are kept and
  counted as conflicts), and reopen blocked slots that rules cover again.

Running it twice creates nothing and writes nothing. Inactive people, and every owner
of an inactive location, desire no slots: a run blocks what they still have open and
creates or reopens nothing for them until they are active again.
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db.rules import location_rules
from db.slots import status_sql
from domain.localdays import day_bounds
from domain.rules import EXCEPTION, Rule, SlotSpec, expand
from domain.timezones import zone


@dataclass(frozen=True)
class Result:
    created: int
    unchanged: int
    blocked: int
    conflicts: int

    def __add__(self, other: "Result") -> "Result":
        return Result(
            self.created + other.created,
            self.unchanged + other.unchanged,
            self.blocked + other.blocked,
            self.conflicts + other.conflicts,
        )


@dataclass(frozen=True)
class _Scope:
    """The slots one run answers for: a location's, or one person's, on `[first, last]`."""

    location_id: uuid.UUID
    person_id: uuid.UUID | None
    first: dt.date
    last: dt.date

    def params(self) -> dict[str, object]:
        return {
            "loc": self.location_id,
            "first": self.first,
            "last": self.last,
            "person": self.person_id,
        }


Owner = uuid.UUID | None  # a person, or None for the location's own slots
# The desired slots of each owner, sorted by start.
Desired = dict[Owner, list[SlotSpec]]

_COLUMNS = ("id", "location_id", "person_id", "date", "start_at", "end_at", "capacity")
_PERSON = "(CAST(:person AS uuid) IS NULL OR s.person_id = CAST(:person AS uuid))"
_SCOPE = f"s.location_id = :loc AND s.date BETWEEN :first AND :last AND {_PERSON}"
_NOBODY_ID = uuid.UUID(int=0)  # stands for the location as an owner, in SQL comparisons
_NOBODY = f"'{_NOBODY_ID}'::uuid"
_OWNERS = f"coalesce(s.person_id, {_NOBODY}) = ANY(CAST(:owners AS uuid[]))"
# Equality on a coalesced person (not IS NOT DISTINCT FROM) so Postgres can hash the join.
# A blocked slot that rules cover again gets the status its counters imply.
_REOPENED = status_sql("'open'", "s.booked + s.hold", "s.capacity")
_DESIRED = (
    f"EXISTS (SELECT 1 FROM desired d WHERE coalesce(d.person_id, {_NOBODY})"
    f" = coalesce(s.person_id, {_NOBODY}) AND d.start_at = s.start_at)"
)


@dataclass(frozen=True)
class _Existing:
    """What the range holds, by owner: starts of the slots not blocked, and blocked conflicts."""

    starts: dict[Owner, list[dt.datetime]]
    blocked_conflicts: dict[Owner, int]
    empty: bool

    def changed(self, desired: Desired) -> list[Owner]:
        """The owners whose slots not blocked are other than exactly their desired ones.

        For any other owner there is nothing to do: nothing is missing, no open slot is
        uncovered, and no desired slot is blocked (starts are unique per owner); its only
        conflicts are blocked slots that still carry bookings or holds.
        """
        owners = dict.fromkeys([*desired, *self.starts])
        wanted = {owner: [s.start_at for s in desired.get(owner, [])] for owner in owners}
        return [owner for owner in owners if self.starts.get(owner, []) != wanted[owner]]

    def settled(self, desired: Desired, changed: list[Owner]) -> Result:
        """What reconciling the owners not `changed` comes to, without touching their slots."""
        owners = {*self.blocked_conflicts, *desired} - set(changed)
        unchanged = sum(len(desired.get(owner, [])) for owner in owners)
        return Result(0, unchanged, 0, sum(self.blocked_conflicts.get(o, 0) for o in owners))


async def lock_location(conn: AsyncConnection, location_id: uuid.UUID) -> None:
    """Takes turns with generation runs for the location, until the transaction ends.

    Deactivating a person or location takes it too, so no run that read them active
    can create or reopen their slots after they are blocked.
    """
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"generation:{location_id}"}
    )


async def _owners(conn: AsyncConnection, scope: _Scope, active: bool) -> list[Owner]:
    """Who gets slots: the location itself and its active people; nobody when it is inactive."""
    if not active:
        return []
    rows = (
        await conn.execute(
            text("SELECT id FROM people WHERE location_id = :loc AND active ORDER BY id"),
            {"loc": scope.location_id},
        )
    ).all()
    people = [r.id for r in rows]
    if scope.person_id is not None:
        return [scope.person_id] if scope.person_id in people else []
    return [None, *people]


@dataclass(frozen=True)
class _Rules:
    """What the desired slots follow from: the location's zone, its rules and the owners."""

    zone: ZoneInfo
    rules: list[Rule]
    owners: list[Owner]

    def expand_each(self, scope: _Scope) -> Iterator[tuple[Owner, list[SlotSpec]]]:
        """Owner by owner, so a caller streaming them never holds every owner's slots at once."""
        shared = [r for r in self.rules if r.person_id is None and r.kind == EXCEPTION]
        for owner in self.owners:
            own = [r for r in self.rules if r.person_id == owner]
            exceptions = shared if owner is not None else []
            yield owner, expand(own, exceptions, scope.first, scope.last, self.zone)


async def _rules(conn: AsyncConnection, scope: _Scope) -> _Rules:
    location = (
        await conn.execute(
            text("SELECT timezone, active FROM locations WHERE id = :id"),
            {"id": scope.location_id},
        )
    ).one()
    rules = await location_rules(conn, scope.location_id)
    return _Rules(zone(location.timezone), rules, await _owners(conn, scope, location.active))


async def _existing(conn: AsyncConnection, scope: _Scope) -> _Existing:
    rows = (
        await conn.execute(
            text(
                "SELECT s.person_id, array_agg(s.start_at ORDER BY s.start_at)"
                " FILTER (WHERE s.status <> 'blocked') AS starts,"
                " count(*) FILTER (WHERE s.status = 'blocked' AND (s.booked > 0 OR s.hold > 0))"
                f" AS conflicts FROM slot_instances s WHERE {_SCOPE} GROUP BY s.person_id"
            ),
            scope.params(),
        )
    ).all()
    return _Existing(
        starts={r.person_id: r.starts for r in rows if r.starts},
        blocked_conflicts={r.person_id: r.conflicts for r in rows},
        empty=not rows,
    )


async def _clashes(conn: AsyncConnection, scope: _Scope, tz: ZoneInfo) -> bool:
    """Whether a slot dated outside the range starts inside it (its zone changed since)."""
    low, _ = day_bounds(scope.first, tz)
    _, high = day_bounds(scope.last, tz)
    return bool(
        await conn.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM slot_instances s WHERE s.location_id = :loc"
                f" AND {_PERSON} AND s.start_at >= :low AND s.start_at < :high)"
            ),
            {**scope.params(), "low": low, "high": high},
        )
    )


def _records(
    location_id: uuid.UUID, owned: Iterable[tuple[Owner, list[SlotSpec]]]
) -> Iterator[tuple]:
    """Made as COPY sends them, so building rows overlaps with Postgres storing the last batch."""
    for owner, specs in owned:
        for s in specs:
            yield (new_id(), location_id, owner, s.date, s.start_at, s.end_at, s.capacity)


async def _copy(conn: AsyncConnection, table: str, records: Iterable[tuple]) -> int:
    """COPYs the rows in and says how many there were."""
    raw = await conn.get_raw_connection()
    status = await raw.driver_connection.copy_records_to_table(
        table, records=records, columns=_COLUMNS
    )
    return int(status.split()[-1])


async def _apply_changes(conn: AsyncConnection, scope: _Scope, desired: Desired) -> Result:
    """The owners in `desired` have slots other than the rules imply: anti-joins sort them out."""
    await conn.execute(
        text(
            "CREATE TEMPORARY TABLE desired (id uuid, location_id uuid, person_id uuid, date date,"
            " start_at timestamptz, end_at timestamptz, capacity smallint) ON COMMIT DROP"
        )
    )
    total = await _copy(conn, "desired", _records(scope.location_id, desired.items()))
    # Indexed and analyzed, so the anti-joins below stay index lookups on any table size.
    await conn.execute(
        text(f"CREATE INDEX ON desired ((coalesce(person_id, {_NOBODY})), start_at)")
    )
    await conn.execute(text("ANALYZE desired"))
    params = {**scope.params(), "owners": [owner or _NOBODY_ID for owner in desired]}
    columns = ", ".join(_COLUMNS)
    created = (
        await conn.execute(
            text(
                f"INSERT INTO slot_instances ({columns}) SELECT {columns} FROM desired"
                " ON CONFLICT DO NOTHING"
            )
        )
    ).rowcount
    blocked = (
        await conn.execute(
            text(
                f"UPDATE slot_instances s SET status = 'blocked', version = s.version + 1,"
                f" updated_at = now() WHERE {_SCOPE} AND {_OWNERS} AND s.status <> 'blocked'"
                f" AND s.booked = 0 AND s.hold = 0 AND NOT {_DESIRED}"
            ),
            params,
        )
    ).rowcount
    conflicts = await conn.scalar(
        text(
            f"SELECT count(*) FROM slot_instances s WHERE {_SCOPE} AND {_OWNERS}"
            f" AND (s.booked > 0 OR s.hold > 0) AND NOT {_DESIRED}"
        ),
        params,
    )
    await conn.execute(
        text(
            f"UPDATE slot_instances s SET version = s.version + 1, updated_at = now(),"
            f" status = {_REOPENED}"
            f" WHERE {_SCOPE} AND {_OWNERS} AND s.status = 'blocked' AND {_DESIRED}"
        ),
        params,
    )
    return Result(created, total - created, blocked, conflicts)


async def reconcile(
    conn: AsyncConnection,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
    first: dt.date,
    last: dt.date,
) -> Result:
    scope = _Scope(location_id, person_id, first, last)
    await lock_location(conn, location_id)
    rules = await _rules(conn, scope)
    existing = await _existing(conn, scope)
    if existing.empty and not await _clashes(conn, scope, rules.zone):
        created = await _copy(
            conn, "slot_instances", _records(location_id, rules.expand_each(scope))
        )
        return Result(created, 0, 0, 0)
    desired = dict(rules.expand_each(scope))
    changed = existing.changed(desired)
    settled = existing.settled(desired, changed)
    if not changed:
        return settled
    return settled + await _apply_changes(
        conn, scope, {owner: desired.get(owner, []) for owner in changed}
    )
