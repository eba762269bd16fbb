"""Reminders: planned with the confirmation, re-planned with a move, dropped with a
cancel, claimed set-based and exactly once (contract §9)."""

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import dramatiq
import pytest
from sqlalchemy import event, text

from actors.reminders import send_due
from common.settings import Settings
from db import reminders
from db.engine import create_engine
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose

DAY, TWO_HOURS = 86400, 7200


def _hold_body(slot_id: uuid.UUID) -> dict:
    return {"slot_id": str(slot_id), "customer": {"name": "Ann", "phone": "+971501234567"}}


async def _held(api: Api, db: asyncpg.Connection, slot: uuid.UUID, visitor: str) -> str:
    """A visitor's hold of the slot, after `GET /v1/slots` showed it (contract §10)."""
    await expose(api, db, visitor, slot)
    held = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot))
    assert held.status == 201, held.json
    return held.json["booking"]["id"]


async def _confirmed(api: Api, db: asyncpg.Connection, slot: uuid.UUID) -> tuple[str, str]:
    """A booking held and confirmed by a visitor: its id and the confirm's request id."""
    visitor = token(["user"])
    booking_id = await _held(api, db, slot, visitor)
    confirmed = await api.post(f"/v1/bookings/{booking_id}/confirm", token=visitor)
    assert confirmed.status == 200, confirmed.json
    return booking_id, confirmed.headers["X-Request-Id"]


async def _planned(db: asyncpg.Connection, booking_id: str) -> list[tuple[int, dt.datetime]]:
    found = await db.fetch(
        "SELECT offset_seconds, due_at FROM reminders WHERE booking_id = $1"
        " ORDER BY offset_seconds DESC",
        uuid.UUID(booking_id),
    )
    return [(r["offset_seconds"], r["due_at"]) for r in found]


async def _reminder_events(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT aggregate_id, payload, request_id FROM outbox"
        " WHERE event_type = 'booking.reminder' ORDER BY id"
    )


@pytest.fixture
async def location(db: asyncpg.Connection) -> uuid.UUID:
    return await rows.location(db)


async def test_a_confirmation_plans_one_reminder_per_offset(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    slot = await rows.slot(db, location)
    booking_id, _ = await _confirmed(api, db, slot)
    assert await _planned(db, booking_id) == [
        (DAY, rows.SOON - dt.timedelta(seconds=DAY)),
        (TWO_HOURS, rows.SOON - dt.timedelta(seconds=TWO_HOURS)),
    ]
    assert await db.fetchval("SELECT count(*) FROM reminders") == 2


async def test_a_hold_plans_none(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    slot = await rows.slot(db, location)
    await _held(api, db, slot, token(["user"]))
    assert await db.fetchval("SELECT count(*) FROM reminders") == 0


async def test_an_offset_already_passed_fires_at_once_and_once_only(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=3)
    slot = await rows.slot(db, location, start=start)
    booking_id, request_id = await _confirmed(api, db, slot)

    assert await send_due() == 1
    assert await send_due() == 0
    (sent,) = await _reminder_events(db)
    assert str(sent["aggregate_id"]) == booking_id
    assert sent["request_id"] == request_id
    payload = json.loads(sent["payload"])
    assert payload["offset_seconds"] == DAY
    assert payload["booking_id"] == booking_id
    assert [offset for offset, _ in await _planned(db, booking_id)] == [TWO_HOURS]


async def test_a_move_replans_and_a_cancel_drops(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    first = await rows.slot(db, location)
    later = rows.SOON + dt.timedelta(days=1)
    second = await rows.slot(db, location, start=later)
    booking_id, _ = await _confirmed(api, db, first)
    staff = token(["frontdesk"])
    path = f"/admin/v1/bookings/{booking_id}"

    moved = await api.patch(
        path, token=staff, json={"action": "reschedule", "slot_id": str(second)}
    )
    assert moved.status == 200, moved.json
    assert await _planned(db, booking_id) == [
        (DAY, later - dt.timedelta(seconds=DAY)),
        (TWO_HOURS, later - dt.timedelta(seconds=TWO_HOURS)),
    ]
    cancelled = await api.patch(path, token=staff, json={"action": "cancel"})
    assert cancelled.status == 200, cancelled.json
    assert await _planned(db, booking_id) == []


async def test_a_reminder_of_a_booking_no_longer_confirmed_is_dropped_silently(
    db: asyncpg.Connection,
) -> None:
    (booking,) = await rows.due_reminders(db, 1, offsets=(DAY,))
    await db.execute("UPDATE bookings SET status = 'cancelled' WHERE id = $1", booking)
    assert await send_due() == 0
    assert await db.fetchval("SELECT count(*) FROM reminders") == 0
    assert await _reminder_events(db) == []


async def test_due_reminders_are_claimed_set_based(
    db: asyncpg.Connection, settings: Settings
) -> None:
    """2,000 due reminders cost two statements: one claims them all, one writes the events."""
    await rows.due_reminders(db, 1000)
    engine = create_engine(settings.database_url, pool_size=1)
    statements: list[str] = []
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    try:
        async with engine.begin() as conn:
            claimed, written = await reminders.claim_due(conn)
    finally:
        await engine.dispose()
    assert (claimed, written) == (2000, 2000)
    assert len(statements) == 2, statements
    assert await db.fetchval("SELECT count(*) FROM reminders") == 0


async def test_scanners_side_by_side_send_each_reminder_once(
    db: asyncpg.Connection, settings: Settings
) -> None:
    bookings = await rows.due_reminders(db, 1500)
    engines = [create_engine(settings.database_url, pool_size=1) for _ in range(3)]

    async def scan(engine) -> int:
        written = 0
        while True:
            async with engine.begin() as conn:
                claimed, events = await reminders.claim_due(conn, limit=100)
            written += events
            if claimed == 0:
                return written

    try:
        for engine in engines:  # connected before the race, so none starts late
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        counts = await asyncio.gather(*(scan(e) for e in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(counts) == 3000
    assert all(counts), counts
    pairs = await db.fetch(
        "SELECT aggregate_id, payload->>'offset_seconds' AS offset_seconds, count(*) AS n"
        " FROM outbox WHERE event_type = 'booking.reminder' GROUP BY 1, 2"
    )
    assert len(pairs) == len(bookings) * 2
    assert {p["n"] for p in pairs} == {1}
