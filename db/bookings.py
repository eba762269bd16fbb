"""Changing one booking: confirm, cancel, reschedule. Each is one short transaction.

Locks are always taken slots first (in id order, with the same person's
overlapping slots), then the booking, exactly as the hold batches and the expiry
job do, so no two of them can deadlock. The change's reply is stored under its
request's Idempotency-Key in the same transaction, so a change applied twice
(its worker died before the lane was trimmed) finds its reply and changes nothing.
"""

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.pii import PiiKeys
from db import audit, idempotency, outbox
from db.idempotency import StoredReply
from db.slots import lock_with_neighbours, release_lapsed_holds, save_counters
from domain.booking_view import BOOKING_COLUMNS, booking_json
from domain.capacity import CANCELLED, CONFIRMED, EXPIRED, HELD, can_transition, remaining
from domain.errors import ApiError, ErrorCode

_SELECT = (
    f"SELECT {BOOKING_COLUMNS} FROM bookings b JOIN slot_instances s ON s.id = b.slot_id"
    " JOIN locations l ON l.id = b.location_id WHERE b.id = :id"
)


@dataclass(frozen=True)
class Change:
    """A requested change, as queued by the web in its booking's lane.

    `owner` is set when a visitor asks (only their own booking); `actor`, `key` and
    `digest` name the request's Idempotency-Key, under which the reply is stored.
    """

    command_id: str
    kind: str
    booking_id: str
    owner: str | None
    actor: str
    key: str
    digest: str
    reply_to: str
    slot_id: str | None = None
    reason: str | None = None
    notify: bool = True
    request_id: str | None = None

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass(frozen=True)
class ChangeOutcome:
    change: Change
    status: int
    body: dict[str, Any]
    replayed: bool
    """True when the reply was stored already: the change was applied before."""


async def lane_of(conn: AsyncConnection, booking_id: str) -> tuple[str, str] | None:
    """The booking's owner and lane (its person, or its slot when location-scoped)."""
    row = (
        await conn.execute(
            text(
                "SELECT user_id, COALESCE(person_id, slot_id) AS lane FROM bookings WHERE id = :id"
            ),
            {"id": booking_id},
        )
    ).first()
    return (row.user_id, str(row.lane)) if row else None


async def _booking(conn: AsyncConnection, change: Change, lock: bool) -> Any:
    try:
        booking_id = uuid.UUID(change.booking_id)
    except ValueError:
        booking_id = None
    row = None
    if booking_id is not None:
        suffix = " FOR UPDATE OF b" if lock else ""
        row = (await conn.execute(text(_SELECT + suffix), {"id": booking_id})).first()
    if row is None or (change.owner is not None and row.user_id != change.owner):
        raise ApiError(ErrorCode.NOT_FOUND, "no such booking")
    return row


def _event(row: Any, status: str, change: Change, **extra: Any) -> dict[str, Any]:
    return {
        "booking_id": str(row.id),
        "slot_id": str(row.slot_id),
        "location_id": str(row.location_id),
        "person_id": str(row.person_id) if row.person_id else None,
        "status": status,
        "start_at": row.start_at.isoformat(),
        "notify": change.notify,
        **extra,
    }


async def apply_change(
    conn: AsyncConnection, change: Change, pii: PiiKeys, idempotency_ttl_seconds: int
) -> ChangeOutcome:
    """Applies the change (or refuses it) and stores the reply, in the caller's transaction.

    A second transaction for the same key (a drainer whose lane lock lapsed, a
    retried batch) waits for the first and then finds its reply.
    """
    await idempotency.lock_key(conn, change.actor, change.key)
    found = await idempotency.find(conn, pii, [(change.actor, change.key)])
    stored = found.get((change.actor, change.key))
    if stored is not None:
        return ChangeOutcome(change, stored.status, stored.body, replayed=True)
    try:
        async with conn.begin_nested():  # a refusal rolls back what the change began
            status, body = 200, await _apply(conn, change, pii)
    except ApiError as error:
        status, body = error.status, error.envelope(change.request_id)
    reply = StoredReply(change.actor, change.key, change.digest, status, body)
    await idempotency.store(conn, pii, [reply], idempotency_ttl_seconds)
    return ChangeOutcome(change, status, body, replayed=False)


async def _apply(conn: AsyncConnection, change: Change, pii: PiiKeys) -> dict[str, Any]:
    """Applies the change and returns the booking as the contract renders it."""
    peek = await _booking(conn, change, lock=False)
    slot_ids = [peek.slot_id] + ([uuid.UUID(change.slot_id)] if change.slot_id else [])
    slots, _ = await lock_with_neighbours(conn, sorted(set(slot_ids)))
    expired = await release_lapsed_holds(conn, slots)
    row = await _booking(conn, change, lock=True)
    lapsed = any(e["id"] == row.id for e in expired) or row.status == EXPIRED
    if change.kind == "confirm" and lapsed:
        raise ApiError(ErrorCode.HOLD_EXPIRED, "the hold expired before it was confirmed")
    if change.kind == "confirm":
        await _confirm(conn, row, slots, change)
    elif change.kind == "cancel":
        await _cancel(conn, row, slots, change)
    else:
        await _reschedule(conn, row, slots, change)
    if expired:
        await save_counters(conn, [slots[i] for i in {e["slot_id"] for e in expired}])
        await outbox.emit_many(
            conn,
            [
                outbox.Event(
                    "booking.expired", e["id"], {"booking_id": str(e["id"])}, change.request_id
                )
                for e in expired
            ],
        )
    if change.owner is None:
        await audit.record(
            conn,
            change.actor,
            f"booking.{change.kind}",
            "booking",
            row.id,
            {"slot_id": change.slot_id, "reason": change.reason},
            change.request_id,
        )
    fresh = (await conn.execute(text(_SELECT), {"id": row.id})).one()
    return {"booking": booking_json(fresh._mapping, pii)}


def _require(row: Any, target: str) -> None:
    if not can_transition(row.status, target):
        raise ApiError(
            ErrorCode.INVALID_STATE,
            f"a {row.status} booking cannot become {target}",
            {"status": row.status},
        )


async def _confirm(conn: AsyncConnection, row: Any, slots: dict, change: Change) -> None:
    _require(row, CONFIRMED)
    slot = slots[row.slot_id]
    slot.hold -= 1
    slot.booked += 1
    await conn.execute(
        text(
            "UPDATE bookings SET status = 'confirmed', confirmed_at = now(),"
            " hold_expires_at = NULL, updated_at = now() WHERE id = :id"
        ),
        {"id": row.id},
    )
    await save_counters(conn, [slot])
    await outbox.emit(
        conn,
        "booking.confirmed",
        row.id,
        _event(row, "confirmed", change),
        change.request_id,
    )


def _release(row: Any, slots: dict) -> None:
    slot = slots[row.slot_id]
    if row.status == HELD:
        slot.hold -= 1
    else:
        slot.booked -= 1


async def _cancel(conn: AsyncConnection, row: Any, slots: dict, change: Change) -> None:
    _require(row, CANCELLED)
    _release(row, slots)
    await conn.execute(
        text(
            "UPDATE bookings SET status = 'cancelled', cancelled_at = now(),"
            " cancel_reason = :reason, updated_at = now() WHERE id = :id"
        ),
        {"id": row.id, "reason": change.reason},
    )
    await save_counters(conn, [slots[row.slot_id]])
    await outbox.emit(
        conn,
        "booking.cancelled",
        row.id,
        _event(row, "cancelled", change, reason=change.reason),
        change.request_id,
    )


async def _reschedule(conn: AsyncConnection, row: Any, slots: dict, change: Change) -> None:
    if row.status not in (HELD, CONFIRMED):
        raise ApiError(ErrorCode.INVALID_STATE, f"a {row.status} booking cannot move")
    target = slots.get(uuid.UUID(change.slot_id))
    if target is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such slot")
    if target.id == row.slot_id:
        return
    now = dt.datetime.now(dt.UTC)
    if target.status == "blocked" or target.start_at <= now:
        raise ApiError(ErrorCode.SLOT_UNAVAILABLE, "the target slot is not open")
    _release(row, slots)
    if remaining(target, list(slots.values())) <= 0:
        raise ApiError(ErrorCode.SLOT_FULL, "no capacity left in the target slot")
    if row.status == HELD:
        target.hold += 1
    else:
        target.booked += 1
    await conn.execute(
        text(
            "UPDATE bookings b SET slot_id = s.id, location_id = s.location_id,"
            " person_id = s.person_id, updated_at = now()"
            " FROM slot_instances s WHERE b.id = :id AND s.id = :slot"
        ),
        {"id": row.id, "slot": target.id},
    )
    await save_counters(conn, [slots[row.slot_id], target])
    await outbox.emit(
        conn,
        "booking.rescheduled",
        row.id,
        _event(row, row.status, change, from_slot_id=str(row.slot_id), to_slot_id=str(target.id)),
        change.request_id,
    )


async def contacts(conn: AsyncConnection, booking_ids: list[str]) -> dict[str, Any]:
    """Each booking's customer name and (encrypted) email, by booking id, to notify them."""
    rows = await conn.execute(
        text(
            "SELECT id, customer_name, customer_email FROM bookings"
            " WHERE id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"ids": booking_ids},
    )
    return {str(row.id): row for row in rows}
