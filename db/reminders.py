"""Planned reminders: written with the confirmation, claimed set-based when due.

A confirmed booking has one row per offset of `REMINDER_OFFSETS`, written in the
transaction that confirms it and again (replacing them) in the one that moves
it; cancelling deletes them. The scan claims due rows by deleting them, up to a
batch at a time with `FOR UPDATE SKIP LOCKED`, and writes their `booking.reminder`
events in the same transaction: a reminder is sent exactly once however many
scanners run at once, and one whose scanner dies is claimed again by the next.
"""

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.settings import get_settings
from db import outbox
from domain import reminders
from domain.lifecycle import CONFIRMED

CLAIM_BATCH = 10_000


async def plan(
    conn: AsyncConnection, booking_id: object, start_at: dt.datetime, request_id: str | None
) -> None:
    """Plans (or re-plans) every reminder of a booking confirmed to start at `start_at`."""
    await drop(conn, booking_id)
    offsets = get_settings().reminder_offsets
    due = reminders.planned(start_at, dt.datetime.now(dt.UTC), offsets)
    if not due:
        return
    await conn.execute(
        text(
            "INSERT INTO reminders (booking_id, offset_seconds, due_at, request_id)"
            " SELECT :id, o, d, :rid"
            " FROM unnest(CAST(:offsets AS int[]), CAST(:due AS timestamptz[])) AS r(o, d)"
        ),
        {
            "id": booking_id,
            "offsets": [offset for offset, _ in due],
            "due": [when for _, when in due],
            "rid": request_id,
        },
    )


async def drop(conn: AsyncConnection, booking_id: object) -> None:
    await conn.execute(text("DELETE FROM reminders WHERE booking_id = :id"), {"id": booking_id})


# Claims (deletes) up to :n due reminders that no other scanner holds, and reads the
# bookings they remind of. A reminder whose booking is no longer confirmed, or has
# begun (the scan was late), is claimed and dropped without an event.
_CLAIM = text(
    "WITH due AS (SELECT booking_id, offset_seconds FROM reminders WHERE due_at <= now()"
    " ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED),"
    " claimed AS (DELETE FROM reminders r USING due WHERE r.booking_id = due.booking_id"
    " AND r.offset_seconds = due.offset_seconds"
    " RETURNING r.booking_id, r.offset_seconds, r.request_id)"
    " SELECT c.booking_id, c.offset_seconds, c.request_id, b.status, b.slot_id, b.location_id,"
    " b.person_id, s.start_at FROM claimed c JOIN bookings b ON b.id = c.booking_id"
    " JOIN slot_instances s ON s.id = b.slot_id"
)


async def claim_due(conn: AsyncConnection, limit: int = CLAIM_BATCH) -> tuple[int, int]:
    """Claims a batch of due reminders and writes their events: (claimed, events written).

    Fewer claimed than `limit` means none was left due (or others hold the rest).
    """
    rows = (await conn.execute(_CLAIM, {"n": limit})).all()
    now = dt.datetime.now(dt.UTC)
    live = [r for r in rows if r.status == CONFIRMED and r.start_at > now]
    await outbox.emit_many(conn, [_event(r) for r in live])
    return len(rows), len(live)


def _event(row) -> outbox.Event:
    return outbox.Event(
        "booking.reminder",
        row.booking_id,
        {
            "booking_id": str(row.booking_id),
            "slot_id": str(row.slot_id),
            "location_id": str(row.location_id),
            "person_id": str(row.person_id) if row.person_id else None,
            "status": row.status,
            "start_at": row.start_at.isoformat(),
            "offset_seconds": row.offset_seconds,
        },
        row.request_id,
    )
