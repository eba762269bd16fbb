"""Locations and the people who can be booked at them."""

import uuid
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import ErrorCode, Refused

LOCATION_COLUMNS = "id, name, timezone"
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
    conn: AsyncConnection, after: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """Up to `limit` locations in id order, after `after` when given (a keyset page)."""
    rows = await conn.execute(
        text(
            f"SELECT {LOCATION_COLUMNS} FROM locations"
            " WHERE CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid)"
            " ORDER BY id LIMIT :n"
        ),
        {"after": after, "n": limit},
    )
    return list(rows.all())


async def location_ids(conn: AsyncConnection) -> list[uuid.UUID]:
    return list((await conn.execute(text("SELECT id FROM locations ORDER BY id"))).scalars())


async def location_exists(conn: AsyncConnection, location_id: uuid.UUID) -> bool:
    found = await conn.scalar(text("SELECT 1 FROM locations WHERE id = :id"), {"id": location_id})
    return bool(found)


async def location_zone(
    conn: AsyncConnection, location_id: uuid.UUID, person_id: uuid.UUID | None
) -> str:
    """The location's time zone; NOT_FOUND for an unknown location, or a person not there."""
    row = (
        await conn.execute(
            text(
                "SELECT l.timezone, p.id AS person_id FROM locations l"
                " LEFT JOIN people p ON p.id = CAST(:person AS uuid) AND p.location_id = l.id"
                " WHERE l.id = :location"
            ),
            {"location": location_id, "person": person_id},
        )
    ).one_or_none()
    if row is None:
        raise Refused(ErrorCode.NOT_FOUND, "location not found")
    if person_id is not None and row.person_id is None:
        raise Refused(ErrorCode.NOT_FOUND, "person not found at this location")
    return row.timezone


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
) -> list[Row[Any]]:
    """Up to `limit` people in id order after `after`, matching every filter given."""
    rows = await conn.execute(
        text(
            f"SELECT {PERSON_COLUMNS} FROM people"
            " WHERE (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            " AND (CAST(:loc AS uuid) IS NULL OR location_id = CAST(:loc AS uuid))"
            " AND (CAST(:skill AS text) IS NULL OR CAST(:skill AS text) = ANY(skills))"
            " AND (CAST(:active AS boolean) IS NULL OR active = CAST(:active AS boolean))"
            " ORDER BY id LIMIT :n"
        ),
        {"after": after, "loc": location_id, "skill": skill, "active": active, "n": limit},
    )
    return list(rows.all())


async def person_location(conn: AsyncConnection, person_id: uuid.UUID) -> uuid.UUID | None:
    """Where the person works, or None when there is no such person."""
    return await conn.scalar(
        text("SELECT location_id FROM people WHERE id = :id"), {"id": person_id}
    )


async def location_name(conn: AsyncConnection, location_id: object) -> str | None:
    return await conn.scalar(text("SELECT name FROM locations WHERE id = :id"), {"id": location_id})
