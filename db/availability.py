"""Availability as every read sees it: the lock-free SQL form of `domain.capacity`.

`tests/integration/test_capacity_sql.py` checks these reads against the domain's
definitions on random slot states and policies. For a slot S:

    held(S)      = max(S.hold - stale(S), 0)
    used(S)      = S.booked + held(S)
    remaining(S) = S.capacity - sum(used(T) for T conflicting with S)
    eligible(S)  = open(S) and the location's policy allows S's start and remaining(S) > 0

A 'full' slot stays a candidate: its status reflects its counters, and a lapsed hold
frees it before the expiry job corrects them.

`stale(S)` counts bookings of S with status 'held' whose `hold_expires_at` has
passed: such a hold is already free before the expiry job releases it (the job
only brings the `hold` counter back in line).

"T conflicting with S" is S itself plus, when S belongs to a person, every other
slot of that person with `T.start_at < S.end_at + buffer and T.end_at > S.start_at -
buffer` (the location policy's `buffer_minutes`): a person cannot be in two places
at once, and keeps the buffer free around each booking, so a hold or booking on one
slot takes capacity from the person's slots that overlap it, or come within the
buffer of it (granularity shorter than duration makes slots overlap). A
location-scoped slot (no person) only counts itself. The policy's minimum notice
and maximum advance make a slot ineligible, never less remaining.

The booking path applies the same rule under row locks; these reads are the
lock-free view of it. Everything is set based: one statement per read, bounded
by `slot_instances_location_date_idx` (or `slot_instances_person_start_idx` for a
person), with stale holds found through the partial `bookings_held_expiry_idx`.
A slot never lasts more than a day (a rule ends by 24:00 and slots never cross
its end), and a buffer is at most a day, so conflicting neighbours are looked for
within two days of the window. `GET /v1/slots` and `GET /v1/dates` keep results in
`web/availability_cache.py`, dropped on every change to the location's slots.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.slots import buffer_sql, open_sql, policy_allows_sql

_DAY = dt.timedelta(days=1)
# A slot's `date` is a calendar date of some zone, within a day of its UTC date.
_DATE_MARGIN = dt.timedelta(days=2)


@dataclass(frozen=True)
class DateAvailability:
    day: dt.date
    available: int
    first_start: dt.datetime


@dataclass(frozen=True)
class SlotAvailability:
    id: uuid.UUID
    location_id: uuid.UUID
    person_id: uuid.UUID | None
    start_at: dt.datetime
    end_at: dt.datetime
    capacity: int
    booked: int
    held: int
    remaining: int
    status: str
    eligible: bool


def _sql(person: bool, only_eligible: bool, select: str) -> str:
    person_filter = "AND s.person_id = :person" if person else ""
    eligible_filter = f"AND {open_sql('s.status', 's.start_at')}" if only_eligible else ""
    return f"""
WITH pol AS (
  SELECT policy, {buffer_sql("policy")} AS buffer FROM locations WHERE id = :location
),
stale AS (
  SELECT slot_id, count(*)::int AS n
  FROM bookings
  WHERE status = 'held' AND hold_expires_at <= now()
  GROUP BY slot_id
),
win AS (
  SELECT s.id, s.location_id, s.person_id, s.start_at, s.end_at, s.capacity, s.booked,
         greatest(s.hold - coalesce(st.n, 0), 0) AS held, s.status
  FROM slot_instances s LEFT JOIN stale st ON st.slot_id = s.id
  WHERE s.location_id = :location AND s.date BETWEEN :d0 AND :d1
    AND s.start_at >= :start AND s.start_at < :end
    {person_filter} {eligible_filter}
),
busy AS (
  SELECT s.id, s.person_id, s.start_at, s.end_at,
         s.booked + greatest(s.hold - coalesce(st.n, 0), 0) AS used
  FROM slot_instances s LEFT JOIN stale st ON st.slot_id = s.id
  WHERE s.location_id = :location AND s.date BETWEEN :b0 AND :b1
    AND s.start_at >= :busy_start AND s.start_at < :busy_end
    AND s.person_id IS NOT NULL AND s.booked + s.hold > 0
    {person_filter}
),
overlap AS (
  -- From each busy slot, probe the person index for the window's slots it conflicts
  -- with: S conflicts with T when S starts before T ends and S ends after T starts,
  -- each stretched by the buffer, so S starts at most the window's longest slot plus
  -- the buffer before T does.
  SELECT s.id, sum(b.used)::int AS n
  FROM busy b CROSS JOIN pol JOIN slot_instances s
    ON s.person_id = b.person_id AND s.id <> b.id
   AND s.start_at < b.end_at + pol.buffer AND s.end_at > b.start_at - pol.buffer
   AND s.start_at > b.start_at - pol.buffer - (SELECT max(end_at - start_at) FROM win)
  WHERE s.start_at >= :start AND s.start_at < :end
  GROUP BY s.id
),
avail AS (
  SELECT w.*, w.capacity - w.booked - w.held - coalesce(o.n, 0) AS free
  FROM win w LEFT JOIN overlap o ON o.id = w.id
),
rated AS (
  SELECT avail.*, greatest(free, 0) AS remaining,
         ({open_sql("status", "start_at")} AND {policy_allows_sql("start_at", "pol.policy")}
          AND free > 0) AS eligible
  FROM avail CROSS JOIN pol
)
{select}
"""


_DAY_SELECT = (
    "SELECT id, location_id, person_id, start_at, end_at, capacity, booked, held, remaining,"
    " status, eligible FROM rated {where} ORDER BY start_at, id"
)
# Prepared statements switch to a generic plan after five runs; with the window's
# bounds unknown it estimates one row everywhere and nests loops that cost 5x the
# custom plan, so these reads always plan for their actual bounds. JIT compiling
# the 90-day count costs more than running it. Both settings end with the transaction.
_READ_SETTINGS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('jit', 'off', true)"
)
_DATES_SELECT = (
    "SELECT (start_at AT TIME ZONE :zone)::date AS day, count(*)::int AS available,"
    " min(start_at) AS first_start FROM rated WHERE eligible GROUP BY day ORDER BY day"
)


def _statement(person: bool, only_eligible: bool, select: str) -> Any:
    return text(_sql(person, only_eligible, select))


_DAY_STATEMENTS = {
    (person, only): _statement(
        person, only, _DAY_SELECT.format(where="WHERE eligible" if only else "")
    )
    for person in (False, True)
    for only in (False, True)
}
_DATES_STATEMENTS = {person: _statement(person, True, _DATES_SELECT) for person in (False, True)}


def _params(
    location_id: uuid.UUID, person_id: uuid.UUID | None, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    busy_start, busy_end = start - 2 * _DAY, end + 2 * _DAY
    params: dict[str, Any] = {
        "location": location_id,
        "start": start,
        "end": end,
        "d0": (start - _DATE_MARGIN).date(),
        "d1": (end + _DATE_MARGIN).date(),
        "busy_start": busy_start,
        "busy_end": busy_end,
        "b0": (busy_start - _DATE_MARGIN).date(),
        "b1": (busy_end + _DATE_MARGIN).date(),
    }
    if person_id is not None:
        params["person"] = person_id
    return params


async def day_slots(
    conn: AsyncConnection,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    only_eligible: bool = False,
) -> list[SlotAvailability]:
    """Slots of a location (or one of its people) starting in `[start, end)`, by start."""
    statement = _DAY_STATEMENTS[(person_id is not None, only_eligible)]
    await conn.execute(_READ_SETTINGS)
    result = await conn.execute(statement, _params(location_id, person_id, start, end))
    return [SlotAvailability(*row) for row in result]


async def dates_with_availability(
    conn: AsyncConnection,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
    start: dt.datetime,
    end: dt.datetime,
    zone: str,
) -> list[DateAvailability]:
    """Eligible slot counts per local date of `zone`, for slots starting in `[start, end)`."""
    params = {**_params(location_id, person_id, start, end), "zone": zone}
    await conn.execute(_READ_SETTINGS)
    result = await conn.execute(_DATES_STATEMENTS[person_id is not None], params)
    return [DateAvailability(*row) for row in result]


async def next_hold_expiry(conn: AsyncConnection, location_id: uuid.UUID) -> dt.datetime | None:
    """When the location's earliest active hold lapses, freeing capacity without a write."""
    return await conn.scalar(
        text(
            "SELECT min(hold_expires_at) FROM bookings"
            " WHERE status = 'held' AND hold_expires_at > now() AND location_id = :location"
        ),
        {"location": location_id},
    )


@dataclass(frozen=True)
class SlotAlone:
    """One slot by itself: its lane owner, whether it is closed, and what is left of it."""

    person_id: uuid.UUID | None
    closed: bool
    left: int
    """Capacity minus bookings and live holds of this slot only: the person's overlapping
    slots are not counted, so this can only be too high."""
    first_lapse_ms: int | None
    """Milliseconds until the slot's first live hold lapses, freeing capacity; None: none."""


async def slot_alone(conn: AsyncConnection, slot_id: uuid.UUID) -> SlotAlone | None:
    """`closed` also when the location's policy refuses the slot's start."""
    row = (
        await conn.execute(
            text(
                f"SELECT s.person_id, NOT ({open_sql('s.status', 's.start_at')}"
                f" AND {policy_allows_sql('s.start_at', 'l.policy')}),"
                " s.capacity - s.booked - greatest(s.hold - (SELECT count(*) FROM bookings b"
                "   WHERE b.slot_id = s.id AND b.status = 'held' AND b.hold_expires_at <= now()),"
                "   0),"
                " (SELECT (extract(epoch FROM min(b.hold_expires_at) - now()) * 1000)::bigint"
                "   FROM bookings b WHERE b.slot_id = s.id AND b.status = 'held'"
                "   AND b.hold_expires_at > now())"
                " FROM slot_instances s JOIN locations l ON l.id = s.location_id"
                " WHERE s.id = :id"
            ),
            {"id": slot_id},
        )
    ).first()
    return SlotAlone(*row) if row is not None else None


async def slot_location(conn: AsyncConnection, slot_id: uuid.UUID) -> uuid.UUID | None:
    """Where the slot is, or None when there is no such slot."""
    return await conn.scalar(
        text("SELECT location_id FROM slot_instances WHERE id = :id"), {"id": slot_id}
    )
