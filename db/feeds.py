"""Calendar feeds: a person's bookings for their calendar app, behind a revocable token.

Each person has at most one feed token, stored only as a keyed hash
(`common/link_tokens.py`); minting a new one revokes the old.
"""

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def mint(
    conn: AsyncConnection, person_id: uuid.UUID, token_hash: str, created_by: str
) -> None:
    await conn.execute(
        text(
            "INSERT INTO calendar_feeds (person_id, token_hash, created_by)"
            " VALUES (:person, :hash, :by) ON CONFLICT (person_id) DO UPDATE"
            " SET token_hash = EXCLUDED.token_hash, created_by = EXCLUDED.created_by,"
            " created_at = now()"
        ),
        {"person": person_id, "hash": token_hash, "by": created_by},
    )


async def revoke(conn: AsyncConnection, person_id: uuid.UUID) -> bool:
    """Ends the person's feed token; False when there was none."""
    deleted = await conn.execute(
        text("DELETE FROM calendar_feeds WHERE person_id = :person"), {"person": person_id}
    )
    return deleted.rowcount > 0


async def opens(conn: AsyncConnection, person_id: uuid.UUID, token_hash: str) -> bool:
    """Whether the token is the person's live feed token."""
    found = await conn.scalar(
        text("SELECT 1 FROM calendar_feeds WHERE person_id = :person AND token_hash = :hash"),
        {"person": person_id, "hash": token_hash},
    )
    return bool(found)


async def person(conn: AsyncConnection, person_id: uuid.UUID) -> Row[Any] | None:
    """The person's name and where they work."""
    return (
        await conn.execute(
            text(
                "SELECT p.name, p.location_id, l.name AS location_name FROM people p"
                " JOIN locations l ON l.id = p.location_id WHERE p.id = :person"
            ),
            {"person": person_id},
        )
    ).first()


async def appointments(
    conn: AsyncConnection, person_id: uuid.UUID, since: dt.datetime, until: dt.datetime
) -> list[Row[Any]]:
    """The person's live bookings (held or confirmed) starting in [since, until)."""
    rows = await conn.execute(
        text(
            "SELECT b.id, b.status, b.customer_name, s.start_at, s.end_at,"
            " l.name AS location_name FROM bookings b"
            " JOIN slot_instances s ON s.id = b.slot_id JOIN locations l ON l.id = b.location_id"
            " WHERE b.person_id = :person AND b.status IN ('held', 'confirmed')"
            " AND b.slot_start_at >= :since AND b.slot_start_at < :until ORDER BY b.slot_start_at"
        ),
        {"person": person_id, "since": since, "until": until},
    )
    return list(rows.all())
