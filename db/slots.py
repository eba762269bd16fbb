"""Slot rows in booking transactions, and the SQL forms of the domain's slot rules.

Rows are locked always in id order, so no two transactions deadlock. Statements
that work on many slots at once (expiry, generation, the availability reads) use
`status_sql` and `open_sql`, the SQL forms of `domain.capacity.status_for` and
`domain.capacity.is_open`; tests check each against the domain's definition.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.capacity import SlotUse


def status_sql(status: str, used: str, capacity: str) -> str:
    """`domain.capacity.status_for` over SQL expressions for a slot's status, use and capacity."""
    return (
        f"CASE WHEN {status} = 'blocked' THEN 'blocked' WHEN {used} >= {capacity} THEN 'full'"
        f" WHEN {used} > 0 THEN 'partial' ELSE 'open' END"
    )


def open_sql(status: str, start_at: str) -> str:
    """`domain.capacity.is_open` over SQL expressions for a slot's status and start."""
    return f"({status} <> 'blocked' AND {start_at} > now())"


# The slots asked for, plus the same person's slots overlapping one of them, found
# through the person's start-time index (a slot lasts at most a day, which bounds the
# range). Rows are locked in id order, as everywhere, so lockers never deadlock.
_LOCK = text(
    """
WITH wanted AS (
  SELECT id, person_id, start_at, end_at FROM slot_instances WHERE id = ANY(:ids)
), locked AS (
  SELECT id FROM wanted
  UNION
  SELECT t.id FROM wanted w JOIN slot_instances t
    ON t.person_id = w.person_id
   AND t.start_at < w.end_at AND t.start_at > w.start_at - interval '1 day'
   AND t.end_at > w.start_at
)
SELECT s.id, s.person_id, s.start_at, s.end_at, s.capacity, s.booked, s.hold, s.status,
       s.location_id, l.timezone
FROM slot_instances s JOIN locations l ON l.id = s.location_id
WHERE s.id = ANY(ARRAY(SELECT id FROM locked))
ORDER BY s.id
FOR UPDATE OF s
"""
)


@dataclass(frozen=True)
class Place:
    location_id: uuid.UUID
    timezone: str


async def lock_with_neighbours(
    conn: AsyncConnection, slot_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, SlotUse], dict[uuid.UUID, Place]]:
    """Locks the slots and every slot of the same person overlapping one of them.

    Returns the locked slots by id, and where each one is.
    """
    rows = (await conn.execute(_LOCK, {"ids": slot_ids})).all()
    slots = {
        r.id: SlotUse(
            r.id, r.person_id, r.start_at, r.end_at, r.capacity, r.booked, r.hold, r.status
        )
        for r in rows
    }
    return slots, {r.id: Place(r.location_id, r.timezone) for r in rows}


async def release_lapsed_holds(
    conn: AsyncConnection, slots: dict[uuid.UUID, SlotUse]
) -> list[dict]:
    """Expires the locked slots' holds past their deadline, in memory and in the database.

    A lapsed hold already counts as free; releasing it here keeps the counters true
    without waiting for the expiry job. Returns the expired bookings for events.
    """
    rows = (
        await conn.execute(
            text(
                "UPDATE bookings SET status = 'expired', expired_at = now(), updated_at = now()"
                " WHERE slot_id = ANY(:ids) AND status = 'held' AND hold_expires_at <= now()"
                " RETURNING id, slot_id, location_id, person_id"
            ),
            {"ids": list(slots)},
        )
    ).all()
    for row in rows:
        slots[row.slot_id].hold -= 1
    return [dict(r._mapping) for r in rows]


async def save_counters(conn: AsyncConnection, slots: list[SlotUse]) -> None:
    """Writes counters and the status they imply, bumping each slot's version."""
    if not slots:
        return
    await conn.execute(
        text(
            "UPDATE slot_instances s SET booked = u.booked, hold = u.hold, status = u.status,"
            " version = s.version + 1, updated_at = now()"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:booked AS int[]), CAST(:hold AS int[]),"
            " CAST(:status AS text[])) AS u(id, booked, hold, status) WHERE s.id = u.id"
        ),
        {
            "ids": [s.id for s in slots],
            "booked": [s.booked for s in slots],
            "hold": [s.hold for s in slots],
            "status": [s.counted_status() for s in slots],
        },
    )
