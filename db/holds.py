"""Applying a batch of hold commands for one lane in one transaction.

Postgres is the single source of truth: the batch locks its slots (and the same
person's overlapping slots) in id order, checks every command against the
counters as they stand, and writes bookings, counters, idempotent replies and
outbox events together. Replaying a batch (a worker died after the commit) finds
each command's stored reply and changes nothing.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.pii import PiiKeys
from common.stored_replies import StoredReply
from db import idempotency, outbox, waitlist, writes
from db.slots import (
    RELEASE_LAPSED_CTES,
    Left,
    Place,
    counters_write,
    left_on,
    lock_with_neighbours,
    released,
)
from domain.capacity import SlotUse, hold_refusal
from domain.commands import HoldCommand
from domain.errors import ErrorCode, Refused
from domain.lifecycle import HELD
from domain.outcomes import BookingRecord, Outcome


@dataclass(frozen=True)
class HoldResult:
    command: HoldCommand
    outcome: Outcome


@dataclass
class _Batch:
    """What one transaction decides, before it is written."""

    slots: dict[uuid.UUID, SlotUse]
    places: dict[uuid.UUID, Place]
    active_phones: set[tuple[uuid.UUID, str]]
    accepted: list[HoldCommand]
    first_lapse: dt.datetime | None
    """When the first hold among the locked slots lapses (frees capacity), if any is held."""
    live_holds: dict[str, int]
    """Live holds of each visitor of the batch (staff have no limit)."""


@dataclass(frozen=True)
class Applied:
    results: list[HoldResult]
    """One per command, in the batch's order."""
    left: dict[str, Left]
    """For each open slot the batch decided about."""


async def apply_holds(
    conn: AsyncConnection,
    commands: list[HoldCommand],
    pii: PiiKeys,
    hold_ttl_seconds: int,
    idempotency_ttl_seconds: int,
    max_live_holds: int,
) -> Applied:
    """Decides and writes every command of the batch.

    A command whose key has an outcome already (stored before, or decided earlier in
    this batch: a retry queued behind its first attempt) gets that outcome and
    changes nothing. Before any command, whatever room its slots have goes to their
    waitlists (`db.waitlist.offer`): the queue comes first. A visitor may hold at most
    `max_live_holds` slots at once, counting the holds accepted earlier in the batch.
    """
    stored = await idempotency.find(conn, pii, list({_key(c) for c in commands}))
    decided: dict[tuple[str, str], Outcome] = {
        key: Outcome.from_json(reply.body) for key, reply in stored.items()
    }
    fresh = _first_of_each_key(c for c in commands if _key(c) not in decided)
    left: dict[str, Left] = {}
    if fresh:
        batch, expired = await _lock(conn, fresh)
        wanted = sorted({uuid.UUID(c.slot_id) for c in fresh})
        request_id = fresh[0].request_id
        offered = await waitlist.offer(
            conn, batch.slots, batch.places, wanted, hold_ttl_seconds, request_id
        )
        batch.active_phones.update((o.slot_id, o.phone_hash) for o in offered)
        await _count_live_holds(conn, batch, fresh)
        now = dt.datetime.now(dt.UTC)
        hold_until = now + dt.timedelta(seconds=hold_ttl_seconds)
        for command in fresh:
            decided[_key(command)] = _decide(command, batch, now, hold_until, max_live_holds)
        replies = {_key(c): StoredReply(c.digest, None, decided[_key(c)].to_json()) for c in fresh}
        await writes.run(
            conn,
            [
                *_bookings_write(batch, hold_until),
                idempotency.store_write(pii, replies, idempotency_ttl_seconds),
                *_changes_writes(batch, expired, fresh),
            ],
        )
        left = left_on(batch.slots, wanted, now, batch.first_lapse)
    return Applied([HoldResult(c, decided[_key(c)]) for c in commands], left)


def _key(command: HoldCommand) -> tuple[str, str]:
    return command.subject, command.key


def _first_of_each_key(commands: Any) -> list[HoldCommand]:
    firsts: dict[tuple[str, str], HoldCommand] = {}
    for command in commands:
        firsts.setdefault(_key(command), command)
    return list(firsts.values())


# Run once the batch's slots are locked, in one round trip: releases the locked slots'
# lapsed holds; finds the live bookings of the batch's phones on its slots (one per
# phone, slot and UTC day) and when the first live hold among the locked slots lapses;
# and locks each visitor of the batch. Visitors' holds are counted under these locks
# (taken in one order, after the slots), so that batches of two lanes cannot both grant
# a visitor's last hold. Every part reads the rows as they were before the statement,
# so the holds it releases are left out by their deadline.
_AFTER_LOCK = text(
    f"WITH {RELEASE_LAPSED_CTES},"
    " visitors AS MATERIALIZED (SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT"
    " hashtextextended('holds:' || s, 0) AS k FROM unnest(CAST(:visitors AS text[])) AS s"
    " ORDER BY k) AS v)"
    " SELECT 'expired' AS kind, id, slot_id, location_id, person_id, NULL::text AS phone_hash,"
    " NULL::timestamptz AS lapse FROM expired"
    " UNION ALL SELECT 'booked', NULL, slot_id, NULL, NULL, phone_hash, NULL FROM bookings"
    " WHERE slot_id = ANY(:slots) AND phone_hash = ANY(:phones)"
    " AND created_day = (now() AT TIME ZONE 'UTC')::date"
    " AND (status = 'confirmed' OR (status = 'held' AND hold_expires_at > now()))"
    " UNION ALL SELECT 'lapse', NULL, NULL, NULL, NULL, NULL, min(hold_expires_at) FROM bookings"
    " WHERE slot_id = ANY(:locked) AND status = 'held' AND hold_expires_at > now()"
    " UNION ALL SELECT 'visitors', NULL, NULL, NULL, NULL, NULL, NULL"
    " FROM (SELECT count(*) FROM visitors) AS locked_visitors"
)


async def _lock(conn: AsyncConnection, commands: list[HoldCommand]) -> tuple[_Batch, list[dict]]:
    """Locks the batch's slots and visitors; the batch as it stands, and the holds it released."""
    slot_ids = sorted({uuid.UUID(c.slot_id) for c in commands})
    slots, places = await lock_with_neighbours(conn, slot_ids)
    rows = (
        await conn.execute(
            _AFTER_LOCK,
            {
                "locked": list(slots),
                "visitors": _visitors(commands),
                "slots": slot_ids,
                "phones": sorted({c.phone_hash for c in commands}),
            },
        )
    ).all()
    expired = released(slots, [r for r in rows if r.kind == "expired"])
    phones = {(r.slot_id, r.phone_hash) for r in rows if r.kind == "booked"}
    first_lapse = next(r.lapse for r in rows if r.kind == "lapse")
    return _Batch(slots, places, phones, [], first_lapse, {}), expired


def _visitors(commands: list[HoldCommand]) -> list[str]:
    """Whose live holds are limited (staff hold for others, without a limit)."""
    return sorted({c.subject for c in commands if not c.staff})


_LIVE_HOLDS = text(
    "SELECT user_id, count(*)::int AS n FROM bookings WHERE user_id = ANY(:subjects)"
    " AND status = 'held' AND hold_expires_at > now() GROUP BY user_id"
)


async def _count_live_holds(conn: AsyncConnection, batch: _Batch, commands: list[HoldCommand]):
    """Counts the visitors' live holds, under the locks `_lock` took."""
    visitors = _visitors(commands)
    if not visitors:
        return
    rows = await conn.execute(_LIVE_HOLDS, {"subjects": visitors})
    batch.live_holds = {v: 0 for v in visitors} | {r.user_id: r.n for r in rows}


_REFUSALS = {
    ErrorCode.NOT_FOUND: "no such slot",
    ErrorCode.SLOT_UNAVAILABLE: "this slot is not open",
    ErrorCode.DUPLICATE_BOOKING: "this phone already holds this slot today",
    ErrorCode.SLOT_FULL: "no capacity left in this slot",
    ErrorCode.TOO_LATE: "this slot starts too soon to be booked",
    ErrorCode.TOO_EARLY: "this slot is too far ahead to be booked",
    ErrorCode.TOO_MANY_HOLDS: "you hold as many slots as allowed: confirm or cancel one first",
}


def _refused(command: HoldCommand, code: ErrorCode, details: dict | None = None) -> Outcome:
    return Outcome.refused(Refused(code, _REFUSALS[code], details), command.request_id)


def _decide(
    command: HoldCommand,
    batch: _Batch,
    now: dt.datetime,
    hold_until: dt.datetime,
    max_live_holds: int,
) -> Outcome:
    slot = batch.slots.get(uuid.UUID(command.slot_id))
    if slot is None:
        return _refused(command, ErrorCode.NOT_FOUND)
    refusal = hold_refusal(slot, list(batch.slots.values()), now)
    if refusal is not None and refusal is not ErrorCode.SLOT_FULL:
        return _refused(command, refusal)
    if (slot.id, command.phone_hash) in batch.active_phones:
        return _refused(command, ErrorCode.DUPLICATE_BOOKING)
    if refusal is not None:
        return _refused(command, refusal)
    held = batch.live_holds.get(command.subject)
    if held is not None and held >= max_live_holds:
        return _refused(command, ErrorCode.TOO_MANY_HOLDS, {"max_live_holds": max_live_holds})
    if held is not None:
        batch.live_holds[command.subject] = held + 1
    slot.hold += 1
    batch.active_phones.add((slot.id, command.phone_hash))
    batch.accepted.append(command)
    place = batch.places[slot.id]
    booking = BookingRecord(
        id=command.booking_id,
        slot_id=command.slot_id,
        location_id=str(place.location_id),
        person_id=str(slot.person_id) if slot.person_id else None,
        status=HELD,
        start_at=slot.start_at,
        end_at=slot.end_at,
        timezone=place.timezone,
        customer_name=command.name,
        customer_phone=command.phone,
        customer_email=command.email,
        notes=command.notes,
        hold_expires_at=hold_until,
        created_at=now,
        confirmed_at=None,
        cancelled_at=None,
        manage_token=command.manage_token,
    )
    return Outcome(booking=booking, created=True, request_id=command.request_id)


def _bookings_write(batch: _Batch, hold_until: dt.datetime) -> list[writes.Write]:
    """The accepted holds' bookings, if any."""
    accepted = batch.accepted
    if not accepted:
        return []
    sql = (
        "INSERT INTO bookings (id, slot_id, location_id, person_id, user_id, customer_name,"
        " customer_phone, customer_email, phone_hash, notes, status, hold_expires_at,"
        " manage_token, manage_token_hash, locale)"
        " SELECT c.id, c.slot_id, s.location_id, s.person_id, c.subject, c.name, c.phone,"
        " c.email, c.phone_hash, c.notes, 'held', :booking_until, c.token, c.token_hash,"
        " c.locale FROM unnest(CAST(:booking_ids AS uuid[]), CAST(:booking_slots AS uuid[]),"
        " CAST(:booking_subjects AS text[]), CAST(:booking_names AS text[]),"
        " CAST(:booking_phones AS text[]), CAST(:booking_emails AS text[]),"
        " CAST(:booking_hashes AS text[]), CAST(:booking_notes AS text[]),"
        " CAST(:booking_tokens AS text[]), CAST(:booking_token_hashes AS text[]),"
        " CAST(:booking_locales AS text[]))"
        " AS c(id, slot_id, subject, name, phone, email, phone_hash, notes, token, token_hash,"
        " locale)"
        " JOIN slot_instances s ON s.id = c.slot_id"
    )
    params = {
        "booking_until": hold_until,
        "booking_ids": [c.booking_id for c in accepted],
        "booking_slots": [c.slot_id for c in accepted],
        "booking_subjects": [c.subject for c in accepted],
        "booking_names": [c.name for c in accepted],
        "booking_phones": [c.phone for c in accepted],
        "booking_emails": [c.email for c in accepted],
        "booking_hashes": [c.phone_hash for c in accepted],
        "booking_notes": [c.notes for c in accepted],
        "booking_tokens": [c.manage_token for c in accepted],
        "booking_token_hashes": [c.manage_hash for c in accepted],
        "booking_locales": [c.locale for c in accepted],
    }
    return [writes.Write(sql, params)]


def _changes_writes(
    batch: _Batch, expired: list[dict], fresh: list[HoldCommand]
) -> list[writes.Write]:
    """The counters of the slots the batch changed, and an event for each change."""
    touched = {uuid.UUID(c.slot_id) for c in batch.accepted} | {e["slot_id"] for e in expired}
    if not touched:
        return []
    # Lapsed holds are released by the batch: their events carry its first command's request.
    batch_request = fresh[0].request_id
    events = [
        outbox.Event("booking.expired", e["id"], _event(e, "expired"), batch_request)
        for e in expired
    ]
    for command in batch.accepted:
        slot = batch.slots[uuid.UUID(command.slot_id)]
        held = {
            "id": command.booking_id,
            "slot_id": command.slot_id,
            "location_id": batch.places[slot.id].location_id,
            "person_id": slot.person_id,
            "start_at": slot.start_at.isoformat(),
        }
        events.append(
            outbox.Event(
                "booking.created", command.booking_id, _event(held, HELD), command.request_id
            )
        )
    counters = counters_write([batch.slots[i] for i in sorted(touched)])
    return [counters, outbox.events_write(events)]


def _event(booking: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "booking_id": str(booking["id"]),
        "slot_id": str(booking["slot_id"]),
        "location_id": str(booking["location_id"]) if booking.get("location_id") else None,
        "person_id": str(booking["person_id"]) if booking.get("person_id") else None,
        "status": status,
        "start_at": booking.get("start_at"),
    }
