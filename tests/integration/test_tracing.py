"""Every outbox event and every notification carries the request id of what caused it."""

import asyncio
import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Iterator

import asyncpg
import dramatiq
import pytest
import redis

from actors import events
from actors.expiry import expire_holds
from common.ids import new_id
from common.settings import Settings
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose


@pytest.fixture
def notifications() -> Iterator[io.StringIO]:
    """The log channel's lines: what would be sent, one JSON object a line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logger = logging.getLogger("notify")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def _hold(slot: uuid.UUID) -> dict:
    customer = {"name": "Ann", "phone": "+971501234567", "email": "ann@example.org"}
    return {"slot_id": str(slot), "customer": customer}


async def _outbox(db: asyncpg.Connection) -> list[tuple[str, str | None]]:
    found = await db.fetch("SELECT event_type, request_id FROM outbox ORDER BY id")
    return [(row["event_type"], row["request_id"]) for row in found]


async def _overdue_hold(db: asyncpg.Connection, slot: uuid.UUID) -> None:
    location = await db.fetchval(
        "UPDATE slot_instances SET hold = hold + 1 WHERE id = $1 RETURNING location_id", slot
    )
    await db.execute(
        "INSERT INTO bookings (id, slot_id, location_id, user_id, customer_name, customer_phone,"
        " phone_hash, status, hold_expires_at) VALUES ($1, $2, $3, 'u', 'C', 'cipher', $4,"
        " 'held', now() - interval '1 second')",
        new_id(),
        slot,
        location,
        uuid.uuid4().hex,
    )


async def test_events_and_notifications_carry_the_request_that_caused_them(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    settings: Settings,
    notifications: io.StringIO,
) -> None:
    slot = await rows.slot(db, await rows.location(db))
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post(
        "/v1/bookings", token=visitor, json=_hold(slot), headers={"X-Request-Id": "hold-1"}
    )
    assert held.status == 201, held.json
    booking = held.json["booking"]["id"]
    for step in ("confirm", "cancel"):
        changed = await api.post(
            f"/v1/bookings/{booking}/{step}", token=visitor, headers={"X-Request-Id": f"{step}-1"}
        )
        assert changed.status == 200, changed.json
    caused = {
        "booking.created": "hold-1",
        "booking.confirmed": "confirm-1",
        "booking.cancelled": "cancel-1",
    }
    assert await _outbox(db) == list(caused.items())

    assert await events.publish_pending() == 3
    stream = redis.Redis.from_url(settings.redis_url, decode_responses=True).xrange("events")
    assert {f["type"]: f["request_id"] for _, f in stream} == caused

    deadline = asyncio.get_running_loop().time() + 10
    while len(notifications.getvalue().splitlines()) < 3:
        assert asyncio.get_running_loop().time() < deadline, notifications.getvalue()
        await asyncio.sleep(0.05)
    told = [json.loads(line) for line in notifications.getvalue().splitlines()]
    assert {n["event_type"]: n["request_id"] for n in told} == caused


async def test_an_expiry_run_gives_its_events_a_request_id_of_its_own(
    worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db)
    for hours in (1, 2):
        await _overdue_hold(
            db, await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=hours))
        )
    expire_holds.send()
    deadline = asyncio.get_running_loop().time() + 10
    expired = await _outbox(db)
    while len(expired) < 2:
        assert asyncio.get_running_loop().time() < deadline, expired
        await asyncio.sleep(0.05)
        expired = await _outbox(db)
    run = expired[0][1]
    assert run
    assert expired == [("booking.expired", run), ("booking.expired", run)]


async def test_a_hold_that_releases_a_lapsed_hold_gives_that_expiry_its_request_id(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    slot = await rows.slot(db, await rows.location(db))
    await _overdue_hold(db, slot)
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post(
        "/v1/bookings", token=visitor, json=_hold(slot), headers={"X-Request-Id": "hold-2"}
    )
    assert held.status == 201, held.json
    assert await _outbox(db) == [("booking.expired", "hold-2"), ("booking.created", "hold-2")]
