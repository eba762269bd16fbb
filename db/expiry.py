"""Expiring every overdue hold at once, set based."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db import outbox
from db.slots import status_sql

_LOCK_SLOTS = text(
    "SELECT id FROM slot_instances WHERE id IN (SELECT DISTINCT slot_id FROM bookings"
    " WHERE status = 'held' AND hold_expires_at <= now()) ORDER BY id FOR UPDATE"
)
_EXPIRE = text(
    "UPDATE bookings SET status = 'expired', expired_at = now(), updated_at = now()"
    " WHERE status = 'held' AND hold_expires_at <= now() AND slot_id = ANY(:slots)"
    " RETURNING id, slot_id, location_id, person_id"
)
_RESTORE = text(
    "UPDATE slot_instances s SET hold = s.hold - e.n, version = s.version + 1, updated_at = now(),"
    f" status = {status_sql('s.status', 's.booked + s.hold - e.n', 's.capacity')}"
    " FROM (SELECT slot_id, count(*)::int AS n FROM unnest(CAST(:slots AS uuid[])) AS slot_id"
    " GROUP BY slot_id) AS e WHERE s.id = e.slot_id"
)


async def expire_overdue(conn: AsyncConnection, request_id: str) -> list[str]:
    """Expires all holds past their deadline, restores capacity, emits events.

    Slots are locked first, in id order, like every other booking transaction.
    The events carry `request_id`, the expiry run's. Returns the slot id of every
    expired hold.
    """
    slots = (await conn.execute(_LOCK_SLOTS)).scalars().all()
    if not slots:
        return []
    rows = (await conn.execute(_EXPIRE, {"slots": list(slots)})).all()
    await conn.execute(_RESTORE, {"slots": [r.slot_id for r in rows]})
    await outbox.emit_many(
        conn,
        [
            outbox.Event(
                "booking.expired",
                r.id,
                {
                    "booking_id": str(r.id),
                    "slot_id": str(r.slot_id),
                    "location_id": str(r.location_id),
                    "person_id": str(r.person_id) if r.person_id else None,
                    "status": "expired",
                },
                request_id,
            )
            for r in rows
        ],
    )
    return [str(r.slot_id) for r in rows]
