"""Bookings: reading them, and changing one (confirm, cancel, reschedule).

Each change is one short transaction. Locks are always taken slots first (in id
order, with the same person's overlapping slots), then the booking, exactly as
the hold batches and the expiry job do, so no two of them can deadlock. The
change's outcome is stored under its request's Idempotency-Key in the same
transaction, so a change applied twice (its worker died before the lane was
trimmed) finds its outcome and changes nothing.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.pii import PiiKeys
from common.stored_replies import StoredReply
from db import audit, idempotency, outbox, reminders, waitlist
from db.scoping import in_scope
from db.slots import Left, around, lock_with_neighbours, release_lapsed_holds, save_counters
from domain.capacity import SlotUse, hold_refusal
from domain.commands import Change
from domain.errors import ErrorCode, Refused
from domain.lifecycle import (
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    HELD,
    require_movable,
    require_transition,
)
from domain.outcomes import BookingRecord, Outcome
from domain.scope import Scope

_SELECT = (
    "SELECT b.id, b.slot_id, b.location_id, b.person_id, b.status, s.start_at, s.end_at,"
    " l.timezone, b.customer_name, b.customer_phone, b.customer_email, b.notes,"
    " b.hold_expires_at, b.created_at, b.confirmed_at, b.cancelled_at, b.user_id,"
    " b.waitlist_entry_id, b.manage_token"
    " FROM bookings b JOIN slot_instances s ON s.id = b.slot_id"
    " JOIN locations l ON l.id = b.location_id"
)


def record(row: Row, *, manage_token: bool = True) -> BookingRecord:
    """The booking as stored; `manage_token` False leaves the link out (staff views)."""
    return BookingRecord(
        id=str(row.id),
        slot_id=str(row.slot_id),
        location_id=str(row.location_id),
        person_id=str(row.person_id) if row.person_id else None,
        status=row.status,
        start_at=row.start_at,
        end_at=row.end_at,
        timezone=row.timezone,
        customer_name=row.customer_name,
        customer_phone=row.customer_phone,
        customer_email=row.customer_email,
        notes=row.notes,
        hold_expires_at=row.hold_expires_at,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        cancelled_at=row.cancelled_at,
        manage_token=row.manage_token if manage_token else None,
    )


async def owned(conn: AsyncConnection, booking_id: str, owner: str) -> BookingRecord | None:
    """The booking, if `owner` made it."""
    row = (
        await conn.execute(
            text(_SELECT + " WHERE b.id = :id AND b.user_id = :owner"),
            {"id": booking_id, "owner": owner},
        )
    ).first()
    return record(row) if row is not None else None


async def managed(conn: AsyncConnection, token_hash: str) -> tuple[BookingRecord, str] | None:
    """The booking a manage link names and its owner, while its slot has not ended.

    One lookup by the token's hash answers unknown, forged and expired links alike.
    """
    row = (
        await conn.execute(
            text(_SELECT + " WHERE b.manage_token_hash = :hash AND s.end_at > now()"),
            {"hash": token_hash},
        )
    ).first()
    return (record(row), row.user_id) if row is not None else None


@dataclass(frozen=True)
class Filter:
    """What the staff booking list asks for; `phone_hash` is the lookup hash of a phone."""

    location_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    status: str | None = None
    phone_hash: str | None = None
    first: dt.date | None = None
    last: dt.date | None = None
    scope: Scope = field(default_factory=Scope)


async def newest_first(
    conn: AsyncConnection,
    where: Filter,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[BookingRecord]:
    """A page of bookings, newest slot first, after the (slot start, id) of the last seen.

    `first`/`last` bound the slot's start by UTC date, both inclusive.
    """
    rows = (
        await conn.execute(
            text(
                _SELECT
                + " WHERE (CAST(:loc AS uuid) IS NULL OR b.location_id = CAST(:loc AS uuid))"
                " AND (CAST(:person AS uuid) IS NULL OR b.person_id = CAST(:person AS uuid))"
                " AND (CAST(:status AS text) IS NULL OR b.status = CAST(:status AS text))"
                " AND (CAST(:phone AS text) IS NULL OR b.phone_hash = CAST(:phone AS text))"
                " AND (CAST(:first AS date) IS NULL OR b.slot_start_at >= CAST(:first AS date))"
                " AND (CAST(:last AS date) IS NULL OR b.slot_start_at < CAST(:last AS date) + 1)"
                " AND (CAST(:after_start AS timestamptz) IS NULL"
                "      OR (b.slot_start_at, b.id) < (CAST(:after_start AS timestamptz),"
                "                                    CAST(:after_id AS uuid)))"
                f" AND {in_scope('b.location_id')}"
                " ORDER BY b.slot_start_at DESC, b.id DESC LIMIT :n"
            ),
            {
                "loc": where.location_id,
                "person": where.person_id,
                "status": where.status,
                "phone": where.phone_hash,
                "first": where.first,
                "last": where.last,
                "after_start": after[0] if after else None,
                "after_id": after[1] if after else None,
                "scope": where.scope.ids(),
                "n": limit,
            },
        )
    ).all()
    return [record(r, manage_token=False) for r in rows]


async def location_of(conn: AsyncConnection, booking_id: str) -> uuid.UUID | None:
    """Where the booking is, or None when it is not in Postgres (yet)."""
    return await conn.scalar(
        text("SELECT location_id FROM bookings WHERE id = :id"), {"id": booking_id}
    )


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


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    outcome: Outcome
    replayed: bool
    """True when the outcome was stored already: the change was applied before."""
    freed: frozenset[str] = frozenset()
    """Slots that got capacity back (a cancel, a move away, lapsed holds released)."""
    left: dict[str, Left] = field(default_factory=dict)
    """What is left, exactly, of the slots whose room went to their waitlist."""


@dataclass
class _Freed:
    """What a change freed, and what of it its waitlists took."""

    slots: set[str] = field(default_factory=set)
    left: dict[str, Left] = field(default_factory=dict)


async def apply_change(
    conn: AsyncConnection,
    change: Change,
    pii: PiiKeys,
    idempotency_ttl_seconds: int,
    hold_ttl_seconds: int,
) -> ChangeResult:
    """Applies the change (or refuses it) and stores its outcome, in the caller's transaction.

    A second transaction for the same key (a drainer whose lane lock lapsed, a
    retried batch) waits for the first and then finds its outcome. Capacity the
    change frees goes to the waitlists first, in the same transaction.
    """
    key = (change.subject, change.key)
    await idempotency.lock_key(conn, *key)
    stored = (await idempotency.find(conn, pii, [key])).get(key)
    if stored is not None:
        return ChangeResult(change, Outcome.from_json(stored.body), replayed=True)
    freed = _Freed()
    try:
        if change.kind == "reschedule":
            await _offer_target_first(conn, change, hold_ttl_seconds)
        async with conn.begin_nested():  # a refusal rolls back what the change began
            booking = await _apply(conn, change, freed, hold_ttl_seconds)
        outcome = Outcome(booking=booking, request_id=change.request_id)
    except Refused as error:
        freed = _Freed()
        outcome = Outcome.refused(error, change.request_id)
    reply = StoredReply(change.digest, None, outcome.to_json())
    await idempotency.store(conn, pii, {key: reply}, idempotency_ttl_seconds)
    return ChangeResult(change, outcome, False, frozenset(freed.slots), freed.left)


async def _offer_target_first(conn: AsyncConnection, change: Change, hold_ttl_seconds: int) -> None:
    """A move's target goes to its waitlist first, as it would before a hold: its room
    is offered before the move is tried, outside the move's savepoint, so that a move
    refused for want of room leaves the offer made. Locks what `_apply` locks, in the
    same order."""
    peek = await _booking(conn, change, lock=False)
    target = uuid.UUID(str(change.slot_id))
    slots, places = await lock_with_neighbours(conn, sorted({peek.slot_id, target}), hops=2)
    await waitlist.offer(conn, slots, places, [target], hold_ttl_seconds, change.request_id)


async def _booking(conn: AsyncConnection, change: Change, lock: bool) -> Row:
    try:
        booking_id = uuid.UUID(change.booking_id)
    except ValueError:
        booking_id = None
    row = None
    if booking_id is not None:
        suffix = " FOR UPDATE OF b" if lock else ""
        row = (
            await conn.execute(text(_SELECT + " WHERE b.id = :id" + suffix), {"id": booking_id})
        ).first()
    if row is None or (change.owner is not None and row.user_id != change.owner):
        raise Refused(ErrorCode.NOT_FOUND, "no such booking")
    Scope.of(change.location_ids).require(row.location_id, "booking")
    return row


async def _apply(
    conn: AsyncConnection, change: Change, freed: _Freed, hold_ttl_seconds: int
) -> BookingRecord:
    """Applies the change; tells `freed` the slots that got capacity back."""
    peek = await _booking(conn, change, lock=False)
    slot_ids = [peek.slot_id] + ([uuid.UUID(change.slot_id)] if change.slot_id else [])
    wanted = sorted(set(slot_ids))
    slots, places = await lock_with_neighbours(conn, wanted, hops=2)
    expired = await release_lapsed_holds(conn, slots)
    row = await _booking(conn, change, lock=True)
    target = places.get(uuid.UUID(change.slot_id)) if change.slot_id else None
    if target is not None:
        Scope.of(change.location_ids).require(target.location_id, "slot")
    lapsed = any(e["id"] == row.id for e in expired) or row.status == EXPIRED
    if change.kind == "confirm" and lapsed:
        raise Refused(ErrorCode.HOLD_EXPIRED, "the hold expired before it was confirmed")
    if change.kind == "confirm":
        await _confirm(conn, row, slots, change)
    elif change.kind == "cancel":
        await _cancel(conn, row, slots, change)
        freed.slots.add(str(row.slot_id))
    elif await _reschedule(conn, row, slots, change):
        freed.slots.add(str(row.slot_id))
    freed.slots.update(str(e["slot_id"]) for e in expired)
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
    offered = await waitlist.offer(
        conn, slots, places, around(slots, wanted), hold_ttl_seconds, change.request_id
    )
    # Room freed on a slot is room freed on the slots conflicting with it.
    freed.slots = {str(i) for i in around(slots, [uuid.UUID(s) for s in freed.slots])}
    freed.left = await waitlist.counts(conn, slots, offered)
    if change.owner is None:
        await audit.record(
            conn,
            change.subject,
            f"booking.{change.kind}",
            "booking",
            row.id,
            {"slot_id": change.slot_id, "reason": change.reason},
            change.request_id,
            row.location_id,
        )
    fresh = (await conn.execute(text(_SELECT + " WHERE b.id = :id"), {"id": row.id})).one()
    return record(fresh, manage_token=change.owner is not None)


def _event(row: Row, status: str, change: Change, **extra: Any) -> dict[str, Any]:
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


async def _confirm(
    conn: AsyncConnection, row: Row, slots: dict[uuid.UUID, SlotUse], change: Change
) -> None:
    require_transition(row.status, CONFIRMED)
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
    if row.waitlist_entry_id is not None:
        await waitlist.settle(conn, row.id, confirmed=True)
    await reminders.plan(conn, row.id, row.start_at, change.request_id)
    await outbox.emit(
        conn, "booking.confirmed", row.id, _event(row, CONFIRMED, change), change.request_id
    )


def _release(row: Row, slots: dict[uuid.UUID, SlotUse]) -> None:
    slot = slots[row.slot_id]
    if row.status == HELD:
        slot.hold -= 1
    else:
        slot.booked -= 1


async def _cancel(
    conn: AsyncConnection, row: Row, slots: dict[uuid.UUID, SlotUse], change: Change
) -> None:
    require_transition(row.status, CANCELLED)
    _release(row, slots)
    await conn.execute(
        text(
            "UPDATE bookings SET status = 'cancelled', cancelled_at = now(),"
            " cancel_reason = :reason, updated_at = now() WHERE id = :id"
        ),
        {"id": row.id, "reason": change.reason},
    )
    await save_counters(conn, [slots[row.slot_id]])
    if row.waitlist_entry_id is not None:
        await waitlist.settle(conn, row.id, confirmed=False)
    await reminders.drop(conn, row.id)
    await outbox.emit(
        conn,
        "booking.cancelled",
        row.id,
        _event(row, CANCELLED, change, reason=change.reason),
        change.request_id,
    )


_MOVE_REFUSALS = {
    ErrorCode.SLOT_UNAVAILABLE: "the target slot is not open",
    ErrorCode.TOO_LATE: "the target slot starts too soon to be booked",
    ErrorCode.TOO_EARLY: "the target slot is too far ahead to be booked",
    ErrorCode.SLOT_FULL: "no capacity left in the target slot",
}


async def _reschedule(
    conn: AsyncConnection, row: Row, slots: dict[uuid.UUID, SlotUse], change: Change
) -> bool:
    """Moves the booking; False when it is on the target slot already."""
    require_movable(row.status)
    target = slots.get(uuid.UUID(str(change.slot_id)))
    if target is None:
        raise Refused(ErrorCode.NOT_FOUND, "no such slot")
    if target.id == row.slot_id:
        return False
    if change.owner is not None:
        await _require_same_scope(conn, row, target)
    _release(row, slots)
    refusal = hold_refusal(target, list(slots.values()), dt.datetime.now(dt.UTC))
    if refusal is not None:
        raise Refused(refusal, _MOVE_REFUSALS[refusal])
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
    if row.status == CONFIRMED:
        await reminders.plan(conn, row.id, target.start_at, change.request_id)
    await outbox.emit(
        conn,
        "booking.rescheduled",
        row.id,
        _event(
            row,
            row.status,
            change,
            from_slot_id=str(row.slot_id),
            to_slot_id=str(target.id),
            to_start_at=target.start_at.isoformat(),
        ),
        change.request_id,
    )
    return True


async def _require_same_scope(conn: AsyncConnection, row: Row, target: SlotUse) -> None:
    """A customer moves their booking only to a slot of the same location and person
    (or, booked at the location without a person, to another such slot there)."""
    location = await conn.scalar(
        text("SELECT location_id FROM slot_instances WHERE id = :id"), {"id": target.id}
    )
    if location != row.location_id or target.person_id != row.person_id:
        raise Refused(
            ErrorCode.SLOT_UNAVAILABLE,
            "a booking can be moved only to a slot of the same location and person",
            {"slot_id": str(target.id), "reason": "other_scope"},
        )


async def contacts(conn: AsyncConnection, booking_ids: list[str]) -> dict[str, Any]:
    """What notifying each booking's customer takes, by booking id: the customer (phone,
    email and manage token still sealed), their language, and where and when."""
    rows = await conn.execute(
        text(
            "SELECT b.id, b.customer_name, b.customer_phone, b.customer_email, b.locale,"
            " b.manage_token, b.status, s.start_at, s.end_at, l.name AS location_name,"
            " l.timezone FROM bookings b JOIN slot_instances s ON s.id = b.slot_id"
            " JOIN locations l ON l.id = b.location_id WHERE b.id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"ids": booking_ids},
    )
    return {str(row.id): row for row in rows}
