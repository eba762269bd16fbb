"""A Redis that accepts and never answers costs a request 503 within 2 x REDIS_TIMEOUT_SECONDS
+ 1 s, never a hung request, and the platform recovers by itself when Redis answers again."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable

import asyncpg
import pytest
import redis.exceptions
from aiohttp.test_utils import TestClient, TestServer

from common.redis_clients import async_client
from common.settings import Settings
from tests.support import rows
from tests.support.api import Api, Response, token
from tests.support.redis_gate import RedisGate
from web.app import create_app
from web.shared_redis import SharedRedis
from workers.broker import build_broker

TIMEOUT = 0.5
BOUND = 2 * TIMEOUT + 1
GIVE_UP = BOUND + 3
"""A call still waiting then has hung: the test fails rather than waits with it."""


@pytest.fixture
async def gate(settings: Settings) -> AsyncIterator[RedisGate]:
    gate = await RedisGate(settings.redis_url).start()
    try:
        yield gate
    finally:
        await gate.stop()


@pytest.fixture
async def shared(gate: RedisGate) -> AsyncIterator[SharedRedis]:
    connection = SharedRedis(gate.url, TIMEOUT)
    try:
        yield connection
    finally:
        await connection.close()


async def _timed(call: Awaitable[object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        async with asyncio.timeout(GIVE_UP):
            await call
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


async def test_a_shared_call_to_a_redis_that_never_answers_fails_within_the_bound(
    gate: RedisGate, shared: SharedRedis
) -> None:
    gate.stall()
    elapsed, error = await _timed(shared.execute("PING"))
    assert isinstance(error, TimeoutError)
    assert elapsed < BOUND


async def test_every_call_on_a_stalled_shared_connection_fails_and_the_next_reconnects(
    gate: RedisGate, shared: SharedRedis
) -> None:
    assert await shared.execute("PING") == "PONG"
    gate.stall()
    outcomes = await asyncio.gather(*(_timed(shared.execute("INCR", "counted")) for _ in range(50)))
    assert all(isinstance(error, TimeoutError) for _, error in outcomes)
    assert max(elapsed for elapsed, _ in outcomes) < BOUND
    gate.resume()
    assert await shared.execute("SET", "after", "1") == "OK"
    assert await shared.execute("GET", "after") == "1"


async def test_the_redis_py_client_times_out_within_the_bound(gate: RedisGate) -> None:
    client = async_client(gate.url, TIMEOUT)
    try:
        gate.stall()
        elapsed, error = await _timed(client.ping())
        assert isinstance(error, redis.exceptions.TimeoutError)
        assert elapsed < BOUND
        gate.resume()
        assert await client.ping()
    finally:
        await client.aclose()


async def test_the_broker_client_used_to_enqueue_times_out_within_the_bound(
    gate: RedisGate, settings: Settings
) -> None:
    broker = build_broker(
        settings.model_copy(update={"redis_url": gate.url, "redis_timeout_seconds": TIMEOUT})
    )
    try:
        gate.stall()
        elapsed, error = await _timed(asyncio.to_thread(broker.client.ping))
        assert isinstance(error, redis.exceptions.TimeoutError)
        assert elapsed < BOUND
    finally:
        broker.close()


@pytest.fixture
async def gated_api(gate: RedisGate, settings: Settings) -> AsyncIterator[Api]:
    gated = settings.model_copy(update={"redis_url": gate.url, "redis_timeout_seconds": TIMEOUT})
    client = TestClient(TestServer(create_app(gated)))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def _hold(api: Api, slot_id: uuid.UUID) -> Response:
    body = {"slot_id": str(slot_id), "customer": {"name": "Ann", "phone": "+971501234567"}}
    return await api.post("/v1/bookings", token=token(["user"]), json=body)


async def test_requests_answer_503_within_the_bound_while_redis_hangs(
    gate: RedisGate, gated_api: Api, db: asyncpg.Connection
) -> None:
    slot_id = await rows.slot(db, await rows.location(db))
    staff = token(["admin"])
    assert (await gated_api.get("/admin/v1/locations", token=staff)).status == 200
    gate.stall()
    for request in (
        gated_api.get("/admin/v1/locations", token=staff),
        _hold(gated_api, slot_id),
        gated_api.get("/v1/slots", token=token(["user"]), params={"location_id": str(slot_id)}),
    ):
        started = time.monotonic()
        async with asyncio.timeout(GIVE_UP):
            response = await request
        assert (response.status, response.code) == (503, "UNAVAILABLE")
        assert time.monotonic() - started < BOUND


async def test_readyz_reports_a_hung_hot_path_and_the_platform_recovers_by_itself(
    gate: RedisGate, gated_api: Api
) -> None:
    assert (await gated_api.get("/readyz")).json["redis_hot_path"] == "ok"
    gate.stall()
    started = time.monotonic()
    async with asyncio.timeout(GIVE_UP):
        ready = await gated_api.get("/readyz")
    assert time.monotonic() - started < BOUND
    assert ready.status == 503
    assert ready.json["redis_hot_path"] == "unavailable"
    assert ready.json["redis"] == "unavailable"
    gate.resume()
    deadline = time.monotonic() + 10
    while (await gated_api.get("/readyz")).status != 200:
        assert time.monotonic() < deadline, "/readyz did not recover"
        await asyncio.sleep(0.1)
    listed = await gated_api.get("/admin/v1/locations", token=token(["admin"]))
    assert listed.status == 200
