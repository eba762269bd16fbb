"""Customer phone and email are nowhere in clear at rest (Postgres, Redis, logs), across
key rotations."""

import asyncio
import datetime as dt
import io
import subprocess
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import dramatiq
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from pgserver._commands import POSTGRES_BIN_PATH

from actors import events
from common.ids import new_id
from common.pii import PiiKeys, generate_key
from common.settings import Settings
from db.engine import create_engine
from db.pii import reencrypt
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose
from web.app import create_app

PHONE, EMAIL, NAME = "+971501234567", "customer@example.org", "Ann Atrest"
# pgserver's pg_dump (16) dumps both the embedded server and an older local one.
PG_DUMP = str(POSTGRES_BIN_PATH / "pg_dump")


async def _booking(db: asyncpg.Connection, pii: PiiKeys) -> object:
    location, slot, booking = new_id(), new_id(), new_id()
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    await db.execute("INSERT INTO locations (id, name) VALUES ($1, 'L')", location)
    await db.execute(
        "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity, booked)"
        " VALUES ($1, $2, $3, $4, $5, 1, 1)",
        slot,
        location,
        start.date(),
        start,
        start + dt.timedelta(minutes=30),
    )
    await db.execute(
        "INSERT INTO bookings (id, slot_id, location_id, user_id, customer_name, customer_phone,"
        " customer_email, phone_hash, status) VALUES ($1, $2, $3, 'u', 'Ann', $4, $5, $6,"
        " 'confirmed')",
        booking,
        slot,
        location,
        pii.encrypt(PHONE),
        pii.encrypt(EMAIL),
        pii.lookup_hash(PHONE),
    )
    return booking


def _dump(settings: Settings) -> str:
    return subprocess.run(
        [PG_DUMP, "--data-only", settings.database_url], capture_output=True, text=True, check=True
    ).stdout


def _redis_values(settings: Settings) -> tuple[set[str], str]:
    """Every key of the test's Redis db, read by its type: the types seen, and all of it."""
    client = redis.Redis.from_url(settings.redis_url)
    readers = {
        "string": client.get,
        "list": lambda key: client.lrange(key, 0, -1),
        "set": client.smembers,
        "zset": lambda key: client.zrange(key, 0, -1, withscores=True),
        "hash": client.hgetall,
        "stream": client.xrange,
    }
    kinds, values = set(), []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        kinds.add(kind)
        values.append(f"{key!r} {readers[kind](key)!r}")
    return kinds, "\n".join(values)


def _shows_the_customer(text: str) -> list[str]:
    return [value for value in (PHONE, PHONE[1:], EMAIL) if value in text]


async def _wait_until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def test_booking_through_the_platform_leaves_no_phone_or_email_at_rest(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    settings: Settings,
    log_lines: io.StringIO,
) -> None:
    location = await rows.location(db)
    first, second, third, fourth = [
        await rows.slot(
            db,
            location,
            person_id=await rows.person(db, location),
            start=rows.SOON + dt.timedelta(hours=i),
        )
        for i in range(4)
    ]
    visitor, staff, other = token(["user"]), token(["frontdesk"]), token(["user"])
    for slot in (first, third, fourth):
        await expose(api, db, visitor, slot, person=True)
    await expose(api, db, other, second, person=True)

    def hold(slot: object) -> dict:
        return {"slot_id": str(slot), "customer": {"name": NAME, "phone": PHONE, "email": EMAIL}}

    held = await api.post("/v1/bookings", token=visitor, json=hold(first), key="hold")
    assert held.status == 201, held.json
    booking = f"/v1/bookings/{held.json['booking']['id']}"
    replayed = await api.post("/v1/bookings", token=visitor, json=hold(first), key="hold")
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert (await api.post(f"{booking}/confirm", token=visitor, key="confirm")).status == 200
    replayed = await api.post(f"{booking}/confirm", token=visitor, key="confirm")
    assert replayed.headers["Idempotent-Replayed"] == "true"
    moved = await api.patch(
        f"/admin/{booking[1:]}", token=staff, json={"action": "reschedule", "slot_id": str(second)}
    )
    assert moved.status == 200, moved.json
    refused = await api.post("/v1/bookings", token=other, json=hold(second))
    assert refused.code == "SLOT_FULL"
    assert (await api.post(f"{booking}/cancel", token=visitor)).status == 200
    again = await api.post("/v1/bookings", token=visitor, json=hold(third))
    assert again.status == 201
    events.relay_events.send()

    async def notified() -> bool:
        return "notification" in log_lines.getvalue() and not await db.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )

    await _wait_until(notified, "the outbox relay and notifications never ran")
    cancel = {"action": "cancel", "reason": "closed"}
    assert (
        await api.patch(
            f"/admin/v1/bookings/{again.json['booking']['id']}", token=staff, json=cancel
        )
    ).status == 200

    worker.stop()
    await events.publish_pending()  # the stream, and notifications queued for no worker
    slow = settings.model_copy(update={"booking_wait_seconds": 0.2})
    client = TestClient(TestServer(create_app(slow)))
    await client.start_server()
    try:
        queued = await Api(client).post("/v1/bookings", token=visitor, json=hold(fourth))
        assert queued.status == 202
        confirm = f"/v1/bookings/{queued.json['booking']['id']}/confirm"
        assert (await Api(client).post(confirm, token=visitor)).status == 202
    finally:
        await client.close()

    dump = await asyncio.to_thread(_dump, settings)
    assert NAME in dump
    assert _shows_the_customer(dump) == []
    kinds, values = _redis_values(settings)
    assert {"string", "list", "set", "hash", "stream"} <= kinds
    assert NAME in values, "the queued hold command was not read"
    assert _shows_the_customer(values) == []
    assert "lanes_batch_applied" in log_lines.getvalue()
    assert _shows_the_customer(log_lines.getvalue()) == []


@pytest.fixture
async def rotated(settings: Settings) -> tuple[PiiKeys, PiiKeys]:
    old = PiiKeys.parse(settings.pii_key)
    new_key = f"k9:{generate_key()}"
    return old, PiiKeys.parse(f"{new_key},{settings.pii_key}")


async def test_rotation_keeps_old_rows_readable_then_reencrypts_them(
    db: asyncpg.Connection, settings: Settings, rotated: tuple[PiiKeys, PiiKeys]
) -> None:
    old, new = rotated
    booking = await _booking(db, old)
    row = await db.fetchrow("SELECT customer_phone, customer_email FROM bookings")
    assert new.decrypt(row["customer_phone"]) == PHONE

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await reencrypt(engine, new, batch_size=1) == 1
        assert await reencrypt(engine, new) == 0
    finally:
        await engine.dispose()

    row = await db.fetchrow(
        "SELECT customer_phone, customer_email, phone_hash FROM bookings WHERE id = $1", booking
    )
    assert row["customer_phone"].startswith("k9:")
    assert row["customer_email"].startswith("k9:")
    assert new.decrypt(row["customer_phone"]) == PHONE
    assert new.decrypt(row["customer_email"]) == EMAIL
    assert row["phone_hash"] == new.lookup_hash(PHONE)


async def test_rotation_reencrypts_manage_tokens_and_webhook_secrets(
    db: asyncpg.Connection, settings: Settings, rotated: tuple[PiiKeys, PiiKeys]
) -> None:
    old, new = rotated
    booking = await _booking(db, old)
    await db.execute(
        "UPDATE bookings SET manage_token = $1 WHERE id = $2", old.encrypt("the-token"), booking
    )
    await db.execute(
        "INSERT INTO webhooks (id, url, events, secret) VALUES ($1, 'https://x.example', $2, $3)",
        uuid.uuid4(),
        ["booking.confirmed"],
        old.encrypt("whsec_secret"),
    )
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await reencrypt(engine, new) == 2
        assert await reencrypt(engine, new) == 0
    finally:
        await engine.dispose()
    token = await db.fetchval("SELECT manage_token FROM bookings")
    secret = await db.fetchval("SELECT secret FROM webhooks")
    assert token.startswith("k9:") and new.decrypt(token) == "the-token"
    assert secret.startswith("k9:") and new.decrypt(secret) == "whsec_secret"


async def test_a_reply_stored_before_a_key_rotation_still_replays(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    slot = await rows.slot(db, await rows.location(db))
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    body = {"slot_id": str(slot), "customer": {"name": NAME, "phone": PHONE, "email": EMAIL}}
    held = await api.post("/v1/bookings", token=visitor, json=body, key="before-rotation")
    assert held.status == 201
    rotated = settings.model_copy(update={"pii_key": f"k9:{generate_key()},{settings.pii_key}"})
    client = TestClient(TestServer(create_app(rotated)))
    await client.start_server()
    try:
        from_redis = await Api(client).post(
            "/v1/bookings", token=visitor, json=body, key="before-rotation"
        )
        store = redis.Redis.from_url(settings.redis_url)
        store.flushdb()
        store.set(f"admit:{slot}", "0", px=5000)  # a refusal looks for the reply in Postgres
        from_postgres = await Api(client).post(
            "/v1/bookings", token=visitor, json=body, key="before-rotation"
        )
    finally:
        await client.close()
    for replay in (from_redis, from_postgres):
        assert replay.status == 201
        assert replay.json == held.json
        assert replay.headers["Idempotent-Replayed"] == "true"


async def test_rotation_reencrypts_waitlist_entries(
    api: Api, db: asyncpg.Connection, settings: Settings, rotated: tuple[PiiKeys, PiiKeys]
) -> None:
    _old, new = rotated
    location = await rows.location(db)
    joined = await api.post(
        "/v1/waitlist",
        token=token(["user"]),
        json={
            "location_id": str(location),
            "date": (dt.date.today() + dt.timedelta(days=2)).isoformat(),
            "customer": {"name": NAME, "phone": PHONE, "email": EMAIL},
        },
    )
    assert joined.status == 201
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await reencrypt(engine, new) == 1
        assert await reencrypt(engine, new) == 0
    finally:
        await engine.dispose()
    entry = await db.fetchrow(
        "SELECT customer_phone, customer_email, manage_token FROM waitlist_entries"
    )
    assert all(value.startswith("k9:") for value in entry.values())
    assert new.decrypt(entry["customer_phone"]) == PHONE
    assert new.decrypt(entry["customer_email"]) == EMAIL
    assert new.decrypt(entry["manage_token"]) == joined.json["waitlist_entry"]["manage_token"]
