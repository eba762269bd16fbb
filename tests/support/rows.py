"""Arranging catalog rows directly, for tests of what happens after generation."""

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import asyncpg

from common.ids import new_id

_DUBAI = ZoneInfo("Asia/Dubai")
SOON = dt.datetime.combine(
    dt.datetime.now(_DUBAI).date() + dt.timedelta(days=2), dt.time(10), _DUBAI
).astimezone(dt.UTC)
"""10:00 in Dubai (the default location's zone) two days ahead: tests add hours to it and
stay on one local (and UTC) day, whatever the hour they run at."""


async def location(db: asyncpg.Connection, tz: str = "Asia/Dubai") -> uuid.UUID:
    location_id = new_id()
    await db.execute(
        "INSERT INTO locations (id, name, timezone) VALUES ($1, 'Clinic', $2)", location_id, tz
    )
    return location_id


async def person(db: asyncpg.Connection, location_id: uuid.UUID) -> uuid.UUID:
    person_id = new_id()
    await db.execute(
        "INSERT INTO people (id, location_id, name) VALUES ($1, $2, 'Dr Who')",
        person_id,
        location_id,
    )
    return person_id


async def slot(
    db: asyncpg.Connection,
    location_id: uuid.UUID,
    *,
    person_id: uuid.UUID | None = None,
    start: dt.datetime = SOON,
    minutes: int = 30,
    capacity: int = 1,
    booked: int = 0,
    status: str = "open",
    day: dt.date | None = None,
) -> uuid.UUID:
    """`day` is the slot's date in its location's zone; the UTC date of `start` by default."""
    slot_id = new_id()
    await db.execute(
        "INSERT INTO slot_instances (id, location_id, person_id, date, start_at, end_at,"
        " capacity, booked, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        slot_id,
        location_id,
        person_id,
        day or start.date(),
        start,
        start + dt.timedelta(minutes=minutes),
        capacity,
        booked,
        status,
    )
    return slot_id


async def policy(db: asyncpg.Connection, location_id: uuid.UUID, **values: int | None) -> None:
    """Sets the location's booking policy (contract §10), as `PATCH /admin/v1/locations` would."""
    await db.execute(
        "UPDATE locations SET policy = $2::jsonb WHERE id = $1", location_id, json.dumps(values)
    )


async def due_reminders(
    db: asyncpg.Connection, count: int, offsets: tuple[int, ...] = (86400, 7200)
) -> list[uuid.UUID]:
    """`count` confirmed bookings on one slot tomorrow, each with a due reminder per offset.

    Copied in, not booked (the slot's counters do not count them): for tests and
    benchmarks of claiming many reminders at once.
    """
    where = await location(db)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    on = await slot(db, where, start=start)
    booking_ids = [new_id() for _ in range(count)]
    await db.copy_records_to_table(
        "bookings",
        records=[
            (b, on, where, "u", "Ann", "sealed", f"h{n}", "confirmed")
            for n, b in enumerate(booking_ids)
        ],
        columns=[
            "id", "slot_id", "location_id", "user_id", "customer_name", "customer_phone",
            "phone_hash", "status",
        ],
    )  # fmt: skip
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await db.copy_records_to_table(
        "reminders",
        records=[(b, o, due, f"req-{b}") for b in booking_ids for o in offsets],
        columns=["booking_id", "offset_seconds", "due_at", "request_id"],
    )
    return booking_ids
