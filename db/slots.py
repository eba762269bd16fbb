"""Slot rows in booking transactions, and the SQL forms of the domain's slot rules.

Rows are locked always in id order, so no two transactions deadlock. Statements
that work on many slots at once (generation, the availability reads) use
`status_sql`, `open_sql`, `buffer_sql` and `policy_allows_sql`, the SQL forms of
`domain.capacity.status_for`, `domain.capacity.is_open` and of a location's policy
(`domain.policy`); tests check each against the domain's definition, and the row
locks' choice of conflicting slots against `domain.capacity.SlotUse.overlaps`.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db import writes
from domain.capacity import SlotUse, conflicts, hold_refusal, remaining
from domain.errors import ErrorCode
from domain.policy import BookingPolicy


def status_sql(status: str, used: str, capacity: str) -> str:
    """`domain.capacity.status_for` over SQL expressions for a slot's status, use and capacity."""
    return (
        f"CASE WHEN {status} = 'blocked' THEN 'blocked' WHEN {used} >= {capacity} THEN 'full'"
        f" WHEN {used} > 0 THEN 'partial' ELSE 'open' END"
    )


def open_sql(status: str, start_at: str) -> str:
    """`domain.capacity.is_open` over SQL expressions for a slot's status and start."""
    return f"({status} <> 'blocked' AND {start_at} > now())"


def buffer_sql(policy: str) -> str:
    """A location's buffer as an interval, from its policy column (`domain.policy`)."""
    return f"make_interval(mins => coalesce(({policy}->>'buffer_minutes')::int, 0))"


def policy_allows_sql(start_at: str, policy: str) -> str:
    """Neither `BookingPolicy.too_late` nor `too_early`, over a slot's start and a policy column."""
    notice = f"make_interval(mins => coalesce(({policy}->>'min_notice_minutes')::int, 0))"
    advance = f"make_interval(days => ({policy}->>'max_advance_days')::int)"
    return (
        f"({start_at} >= now() + {notice}"
        f" AND ({policy}->>'max_advance_days' IS NULL OR {start_at} <= now() + {advance}))"
    )


# The conflicting slots of the slots in `frm`: the same person's slots overlapping one
# of them once stretched by the location's buffer (`domain.capacity.SlotUse.overlaps`),
# found through the person's start-time index (a slot lasts at most a day, which
# bounds the range). LATERAL with OFFSET 0 (which the planner may not flatten into a
# join) keeps it an index probe per slot, whatever it guesses of how many `frm` has.
_CONFLICTING = """
  SELECT t.id, t.person_id, t.start_at, t.end_at, w.buffer FROM {frm} w CROSS JOIN LATERAL (
    SELECT id, person_id, start_at, end_at FROM slot_instances
    WHERE person_id = w.person_id
      AND start_at < w.end_at + w.buffer
      AND start_at > w.start_at - interval '1 day' - w.buffer
      AND end_at > w.start_at - w.buffer
    OFFSET 0
  ) t
"""


def _lock_sql(hops: int) -> str:
    steps = [
        "wanted AS (SELECT s.id, s.person_id, s.start_at, s.end_at,"
        f" {buffer_sql('l.policy')} AS buffer FROM slot_instances s"
        " JOIN locations l ON l.id = s.location_id WHERE s.id = ANY(:ids))"
    ]
    for hop in range(1, hops + 1):
        before = "wanted" if hop == 1 else f"hop{hop - 1}"
        steps.append(
            f"hop{hop} AS (SELECT id, person_id, start_at, end_at, buffer FROM {before}"
            f" UNION {_CONFLICTING.format(frm=before)})"
        )
    return (
        "WITH "
        + ",\n".join(steps)
        + f"""
SELECT s.id, s.person_id, s.start_at, s.end_at, s.capacity, s.booked, s.hold, s.status,
       s.location_id, s.date, l.timezone, l.policy
FROM slot_instances s JOIN locations l ON l.id = s.location_id
WHERE s.id = ANY(ARRAY(SELECT id FROM hop{hops}))
ORDER BY s.id
FOR UPDATE OF s
"""
    )


# Rows are locked in id order, as everywhere, so lockers never deadlock.
_LOCKS = {hops: text(_lock_sql(hops)) for hops in (1, 2)}


@dataclass(frozen=True)
class Place:
    location_id: uuid.UUID
    timezone: str
    date: dt.date
    """The slot's date in its location's zone."""


async def lock_with_neighbours(
    conn: AsyncConnection, slot_ids: list[uuid.UUID], hops: int = 1
) -> tuple[dict[uuid.UUID, SlotUse], dict[uuid.UUID, Place]]:
    """Locks the slots and every slot conflicting with one of them; with `hops=2` also
    the slots conflicting with those, so that whatever frees on the slots asked for
    (which frees their conflicting slots too) can be decided on under lock.

    Returns the locked slots by id, each with its location's policy, and where each is.
    """
    rows = (await conn.execute(_LOCKS[hops], {"ids": slot_ids})).all()
    policies: dict[uuid.UUID, BookingPolicy] = {}
    for r in rows:
        if r.location_id not in policies:
            policies[r.location_id] = BookingPolicy.from_json(r.policy)
    slots = {
        r.id: SlotUse(
            r.id,
            r.person_id,
            r.start_at,
            r.end_at,
            r.capacity,
            r.booked,
            r.hold,
            r.status,
            policies[r.location_id],
        )
        for r in rows
    }
    return slots, {r.id: Place(r.location_id, r.timezone, r.date) for r in rows}


def around(slots: dict[uuid.UUID, SlotUse], wanted: list[uuid.UUID]) -> list[uuid.UUID]:
    """The locked slots among `wanted` and those conflicting with them: what frees on a
    slot frees on these. After `lock_with_neighbours` with `hops=2` from `wanted`, every
    slot conflicting with one of these is locked too, so each can be decided on."""
    asked = [slots[i] for i in wanted if i in slots]
    near = conflicts(asked, list(slots.values()))
    return sorted({t.id for found in near.values() for t in found})


# Expires the holds of the locked slots (`:locked`) past their deadline; an offer of the
# waitlist whose hold lapses lapses with it (`domain.waitlist`). Two `WITH` clauses, so
# that a statement can release lapsed holds along with its own reads.
RELEASE_LAPSED_CTES = (
    "expired AS (UPDATE bookings SET status = 'expired', expired_at = now(),"
    " updated_at = now() WHERE slot_id = ANY(:locked) AND status = 'held'"
    " AND hold_expires_at <= now()"
    " RETURNING id, slot_id, location_id, person_id, waitlist_entry_id),"
    " lapsed AS (UPDATE waitlist_entries e SET status = 'lapsed', updated_at = now()"
    " FROM expired x WHERE e.id = x.waitlist_entry_id AND e.status = 'offered')"
)
_RELEASE_LAPSED = text(
    f"WITH {RELEASE_LAPSED_CTES} SELECT id, slot_id, location_id, person_id FROM expired"
)


async def release_lapsed_holds(
    conn: AsyncConnection, slots: dict[uuid.UUID, SlotUse]
) -> list[dict]:
    """Expires the locked slots' holds past their deadline, in memory and in the database.

    A lapsed hold already counts as free; releasing it here keeps the counters true
    without waiting for the expiry job. Returns the expired bookings for events.
    """
    return released(slots, (await conn.execute(_RELEASE_LAPSED, {"locked": list(slots)})).all())


def released(slots: dict[uuid.UUID, SlotUse], expired: list[Any]) -> list[dict]:
    """Takes the expired holds (rows of `RELEASE_LAPSED_CTES`' `expired`) off their slots."""
    for row in expired:
        slots[row.slot_id].hold -= 1
    return [
        {k: row._mapping[k] for k in ("id", "slot_id", "location_id", "person_id")}
        for row in expired
    ]


async def save_counters(conn: AsyncConnection, slots: list[SlotUse]) -> None:
    """Writes counters and the status they imply, bumping each slot's version."""
    await writes.run(conn, [counters_write(slots)] if slots else [])


def counters_write(slots: list[SlotUse]) -> writes.Write:
    """`save_counters` as a write to send with others."""
    return writes.Write(
        "UPDATE slot_instances s SET booked = u.booked, hold = u.hold, status = u.status,"
        " version = s.version + 1, updated_at = now()"
        " FROM unnest(CAST(:counter_ids AS uuid[]), CAST(:counter_booked AS int[]),"
        " CAST(:counter_hold AS int[]), CAST(:counter_status AS text[]))"
        " AS u(id, booked, hold, status) WHERE s.id = u.id",
        {
            "counter_ids": [s.id for s in slots],
            "counter_booked": [s.booked for s in slots],
            "counter_hold": [s.hold for s in slots],
            "counter_status": [s.counted_status() for s in slots],
        },
    )


@dataclass(frozen=True)
class Left:
    """Capacity left on a slot after a transaction, and for how long that stays true at most."""

    count: int
    valid_ms: int | None
    """Until the first hold among the locked slots lapses (and frees capacity); None: none."""


def left_on(
    slots: dict[uuid.UUID, SlotUse],
    slot_ids: list[uuid.UUID],
    now: dt.datetime,
    first_lapse: dt.datetime | None,
) -> dict[str, Left]:
    """What is left of each of `slot_ids` that anyone could hold now (all its conflicting
    slots locked): a slot refused for another reason than being full has no count, so
    that the web never answers `SLOT_FULL` for it."""
    valid_ms = int((first_lapse - now).total_seconds() * 1000) if first_lapse else None
    locked = list(slots.values())
    asked = [slots[i] for i in slot_ids if i in slots]
    near = conflicts(asked, locked)
    left = {}
    for slot in asked:
        if hold_refusal(slot, near[slot.id], now) in (None, ErrorCode.SLOT_FULL):
            left[str(slot.id)] = Left(remaining(slot, near[slot.id]), valid_ms)
    return left


async def first_lapse(conn: AsyncConnection, slot_ids: list[uuid.UUID]) -> dt.datetime | None:
    """When the first live hold on these slots lapses, freeing capacity; None: none."""
    return await conn.scalar(
        text(
            "SELECT min(hold_expires_at) FROM bookings WHERE slot_id = ANY(:ids)"
            " AND status = 'held' AND hold_expires_at > now()"
        ),
        {"ids": slot_ids},
    )
