"""Fixtures for tests that talk to the real app, Postgres, Redis and Dramatiq workers."""

# First, so that services are provisioned before any application module is imported.
import tests.support.provision  # noqa: F401

# isort: split

import asyncio
import io
import logging
import threading
from collections.abc import AsyncIterator, Iterator

import asyncpg
import dramatiq
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from actors.main import broker  # registers every actor, so workers consume every queue
from common.settings import Settings, get_settings
from tests.support.api import Api, token
from tests.support.platform import free_port
from web.app import create_app

TABLES = (
    "audit_log, outbox, jobs, idempotency_records, staff_accounts, waitlist_entries, bookings,"
    " slot_instances, availability_rules, people, locations, reminders, webhooks,"
    " webhook_deliveries, calendar_feeds"
)


@pytest.fixture(autouse=True)
async def clean_state() -> None:
    """Each test starts from empty tables and an empty Redis db."""
    settings = get_settings()
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"TRUNCATE {TABLES}")
    finally:
        await conn.close()
    redis.Redis.from_url(settings.redis_url).flushdb()


@pytest.fixture
def settings() -> Settings:
    return get_settings().model_copy()


@pytest.fixture
async def api(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """The web app; `@pytest.mark.booking_wait(seconds)` sets how long it waits for the
    workers' outcome, for tests whose point is not 201 against 202 on a busy machine."""
    wait = request.node.get_closest_marker("booking_wait")
    if wait is not None:
        settings = settings.model_copy(update={"booking_wait_seconds": wait.args[0]})
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection for arranging data and checking what was stored."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def admin_token() -> str:
    return token(["admin"])


@pytest.fixture
def worker() -> Iterator[dramatiq.Worker]:
    """Real Dramatiq worker threads consuming from the test run's Redis."""
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=20)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        broker.flush_all()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged, formatted in the thread that logged it, as production does."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.fixture
def base_url(settings: Settings, worker: dramatiq.Worker) -> Iterator[str]:
    """The real app on a real port, served from its own thread and event loop."""
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings.model_copy(update={"booking_wait_seconds": 2})))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
