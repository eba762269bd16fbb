"""Deactivating a person or a location: their future slots close at once, bookings stay.

Runs in the caller's transaction, after `db.generation.lock_location`, so no generation
run can reopen what it blocks. Slots are locked in id order, as every booking
transaction locks them, then blocked whatever their bookings: a slot with room left
would otherwise still take holds. Live bookings (confirmed, or held and not lapsed) are
never changed here; they are reported so that staff can move or cancel them.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_PERSON = "(CAST(:person AS uuid) IS NULL OR person_id = CAST(:person AS uuid))"
_LOCK_FUTURE = text(
    "SELECT id FROM slot_instances WHERE location_id = :loc AND "
    + _PERSON
    + " AND start_at > now() AND status <> 'blocked' ORDER BY id FOR UPDATE"
)
_BLOCK = text(
    "UPDATE slot_instances SET status = 'blocked', version = version + 1, updated_at = now()"
    " WHERE id = ANY(CAST(:ids AS uuid[]))"
)
_LIVE = text(
    "SELECT id FROM bookings WHERE location_id = :loc AND " + _PERSON + " AND slot_start_at > now()"
    " AND (status = 'confirmed' OR (status = 'held' AND hold_expires_at > now()))"
    " ORDER BY slot_start_at, id"
)


@dataclass(frozen=True)
class Closed:
    blocked_slots: int
    conflicting_booking_ids: list[str]


async def close_future_slots(
    conn: AsyncConnection, location_id: uuid.UUID, person_id: uuid.UUID | None
) -> Closed:
    """Blocks the future slots of the location (or of one of its people) not blocked yet,
    and names the live bookings on them."""
    params = {"loc": location_id, "person": person_id}
    ids = list((await conn.execute(_LOCK_FUTURE, params)).scalars())
    if ids:
        await conn.execute(_BLOCK, {"ids": ids})
    live = (await conn.execute(_LIVE, params)).scalars()
    return Closed(len(ids), [str(i) for i in live])
