"""Locations and the people who can be booked at them."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.scoping import in_scope
from domain.errors import ErrorCode, Refused
from domain.scope import Scope

LOCATION_COLUMNS = "id, name, timezone, active, policy"
PERSON_COLUMNS = "id, location_id, name, skills, active"


async def create_location(
    conn: AsyncConnection, location_id: uuid.UUID, name: str, timezone: str
) -> Row[Any]:
    return (
        await conn.execute(
            text(
                "INSERT INTO locations (id, name, timezone) VALUES (:id, :name, :tz)"
                f" RETURNING {LOCATION_COLUMNS}"
            ),
            {"id": location_id, "name": name, "tz": timezone},
        )
    ).one()


async def locations_after(
    conn: AsyncConnection,
    after: uuid.UUID | None,
    limit: int,
    *,
    scope: Scope,
    active: bool | None = None,
) -> list[Row[Any]]:
    """Up to `limit` locations of the scope in id order, after `after` when given (a keyset
    page)."""
    rows = await conn.execute(
        text(
            f"SELECT {LOCATION_COLUMNS} FROM locations"
            " WHERE (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            " AND (CAST(:active AS boolean) IS NULL OR active = CAST(:active AS boolean))"
            f" AND {in_scope('id')} ORDER BY id LIMIT :n"
        ),
        {"after": after, "active": active, "scope": scope.ids(), "n": limit},
    )
    return list(rows.all())


async def location(
    conn: AsyncConnection, location_id: uuid.UUID, *, lock: bool = False
) -> Row[Any] | None:
    suffix = " FOR UPDATE" if lock else ""
    query = text(f"SELECT {LOCATION_COLUMNS} FROM locations WHERE id = :id{suffix}")
    return (await conn.execute(query, {"id": location_id})).first()


@dataclass(frozen=True)
class LocationChange:
    """What a PATCH changes; None keeps a value."""

    name: str | None = None
    timezone: str | None = None
    active: bool | None = None
    policy: dict[str, Any] | None = None


async def update_location(
    conn: AsyncConnection, location_id: uuid.UUID, change: LocationChange
) -> Row[Any]:
    return (
        await conn.execute(
            text(
                "UPDATE locations SET name = coalesce(:name, name),"
                " timezone = coalesce(:tz, timezone), active = coalesce(:active, active),"
                " policy = coalesce(CAST(:policy AS jsonb), policy)"
                f" WHERE id = :id RETURNING {LOCATION_COLUMNS}"
            ),
            {
                "id": location_id,
                "name": change.name,
                "tz": change.timezone,
                "active": change.active,
                "policy": json.dumps(change.policy) if change.policy is not None else None,
            },
        )
    ).one()


async def future_slots(conn: AsyncConnection, location_id: uuid.UUID) -> int:
    """How many of the location's slots (any status) have not started yet."""
    return await conn.scalar(
        text("SELECT count(*) FROM slot_instances WHERE location_id = :loc AND start_at > now()"),
        {"loc": location_id},
    )


async def location_ids(conn: AsyncConnection) -> list[uuid.UUID]:
    return list((await conn.execute(text("SELECT id FROM locations ORDER BY id"))).scalars())


async def location_exists(conn: AsyncConnection, location_id: uuid.UUID) -> bool:
    found = await conn.scalar(text("SELECT 1 FROM locations WHERE id = :id"), {"id": location_id})
    return bool(found)


@dataclass(frozen=True)
class Place:
    """Where availability is asked for: the location's zone, and whether it (and the
    person asked for, if any) is active."""

    timezone: str
    active: bool


async def place(
    conn: AsyncConnection, location_id: uuid.UUID, person_id: uuid.UUID | None
) -> Place:
    """NOT_FOUND for an unknown location, or a person not there."""
    row = (
        await conn.execute(
            text(
                "SELECT l.timezone, l.active, p.id AS person_id, p.active AS person_active"
                " FROM locations l LEFT JOIN people p"
                " ON p.id = CAST(:person AS uuid) AND p.location_id = l.id"
                " WHERE l.id = :location"
            ),
            {"location": location_id, "person": person_id},
        )
    ).one_or_none()
    if row is None:
        raise Refused(ErrorCode.NOT_FOUND, "location not found")
    if person_id is not None and row.person_id is None:
        raise Refused(ErrorCode.NOT_FOUND, "person not found at this location")
    return Place(row.timezone, row.active and row.person_active is not False)


async def unknown_locations(
    conn: AsyncConnection, location_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Those of `location_ids` no location has, in the order given."""
    known = set(
        (
            await conn.execute(
                text("SELECT id FROM locations WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": location_ids},
            )
        ).scalars()
    )
    return [i for i in location_ids if i not in known]


async def location_zone(
    conn: AsyncConnection, location_id: uuid.UUID, person_id: uuid.UUID | None
) -> str:
    """The location's time zone; NOT_FOUND for an unknown location, or a person not there."""
    return (await place(conn, location_id, person_id)).timezone


async def create_person(
    conn: AsyncConnection,
    person_id: uuid.UUID,
    location_id: uuid.UUID,
    name: str,
    skills: list[str],
    active: bool,
) -> Row[Any]:
    return (
        await conn.execute(
            text(
                "INSERT INTO people (id, location_id, name, skills, active)"
                f" VALUES (:id, :loc, :name, :skills, :active) RETURNING {PERSON_COLUMNS}"
            ),
            {"id": person_id, "loc": location_id, "name": name, "skills": skills, "active": active},
        )
    ).one()


async def people_after(
    conn: AsyncConnection,
    after: uuid.UUID | None,
    limit: int,
    *,
    location_id: uuid.UUID | None = None,
    skill: str | None = None,
    active: bool | None = None,
    scope: Scope,
) -> list[Row[Any]]:
    """Up to `limit` people of the scope in id order after `after`, matching every filter
    given."""
    rows = await conn.execute(
        text(
            f"SELECT {PERSON_COLUMNS} FROM people"
            " WHERE (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            " AND (CAST(:loc AS uuid) IS NULL OR location_id = CAST(:loc AS uuid))"
            " AND (CAST(:skill AS text) IS NULL OR CAST(:skill AS text) = ANY(skills))"
            " AND (CAST(:active AS boolean) IS NULL OR active = CAST(:active AS boolean))"
            f" AND {in_scope('location_id')} ORDER BY id LIMIT :n"
        ),
        {
            "after": after,
            "loc": location_id,
            "skill": skill,
            "active": active,
            "scope": scope.ids(),
            "n": limit,
        },
    )
    return list(rows.all())


async def person(
    conn: AsyncConnection, person_id: uuid.UUID, *, lock: bool = False
) -> Row[Any] | None:
    suffix = " FOR UPDATE" if lock else ""
    query = text(f"SELECT {PERSON_COLUMNS} FROM people WHERE id = :id{suffix}")
    return (await conn.execute(query, {"id": person_id})).first()


async def update_person(
    conn: AsyncConnection,
    person_id: uuid.UUID,
    name: str | None,
    skills: list[str] | None,
    active: bool | None,
) -> Row[Any]:
    """Changes what is given (None keeps a value)."""
    return (
        await conn.execute(
            text(
                "UPDATE people SET name = coalesce(:name, name),"
                " skills = coalesce(CAST(:skills AS text[]), skills),"
                " active = coalesce(:active, active)"
                f" WHERE id = :id RETURNING {PERSON_COLUMNS}"
            ),
            {"id": person_id, "name": name, "skills": skills, "active": active},
        )
    ).one()


async def person_location(conn: AsyncConnection, person_id: uuid.UUID) -> uuid.UUID | None:
    """Where the person works, or None when there is no such person."""
    return await conn.scalar(
        text("SELECT location_id FROM people WHERE id = :id"), {"id": person_id}
    )


async def location_name(conn: AsyncConnection, location_id: object) -> str | None:
    return await conn.scalar(text("SELECT name FROM locations WHERE id = :id"), {"id": location_id})
