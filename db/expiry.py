"""Expiring every overdue hold at once, and giving what frees to the waitlists."""

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db import outbox, waitlist
from db.slots import Left, around, lock_with_neighbours, release_lapsed_holds, save_counters

_OVERDUE = text(
    "SELECT DISTINCT slot_id FROM bookings WHERE status = 'held' AND hold_expires_at <= now()"
)


@dataclass(frozen=True)
class Expired:
    holds: int
    slots: list[str]
    """The slots that got room back: those of the expired holds, and the slots conflicting
    with them."""
    left: dict[str, Left] = field(default_factory=dict)
    """What is left, exactly, of the slots whose room went to their waitlist."""


async def expire_overdue(conn: AsyncConnection, request_id: str, hold_ttl_seconds: int) -> Expired:
    """Expires all holds past their deadline, restores capacity, emits events, and offers
    the freed places to the waitlists.

    The slots are locked first (in id order, with two rings of conflicting slots, so
    that every place that frees can be decided on), like every booking transaction.
    The events carry `request_id`, the expiry run's.
    """
    wanted = sorted((await conn.execute(_OVERDUE)).scalars())
    if not wanted:
        return Expired(0, [])
    slots, places = await lock_with_neighbours(conn, wanted, hops=2)
    rows = await release_lapsed_holds(conn, slots)
    await save_counters(conn, [slots[i] for i in sorted({r["slot_id"] for r in rows})])
    await outbox.emit_many(
        conn,
        [
            outbox.Event(
                "booking.expired",
                r["id"],
                {
                    "booking_id": str(r["id"]),
                    "slot_id": str(r["slot_id"]),
                    "location_id": str(r["location_id"]),
                    "person_id": str(r["person_id"]) if r["person_id"] else None,
                    "status": "expired",
                },
                request_id,
            )
            for r in rows
        ],
    )
    offered = await waitlist.offer(
        conn, slots, places, around(slots, wanted), hold_ttl_seconds, request_id
    )
    freed = [str(i) for i in around(slots, sorted({r["slot_id"] for r in rows}))]
    return Expired(len(rows), freed, await waitlist.counts(conn, slots, offered))
