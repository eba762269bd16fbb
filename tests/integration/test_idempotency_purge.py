"""Expired idempotent replies are deleted on a schedule; live ones stay."""

import asyncio
import datetime as dt

import asyncpg
import dramatiq
import redis

from actors.main import broker
from common.settings import Settings
from db.engine import create_engine
from db.idempotency import purge_expired
from scheduler_jobs.jobs import jobs
from scheduler_jobs.main import run_leased


async def _records(db: asyncpg.Connection, count: int, seconds: int) -> None:
    """`count` replies expiring in `seconds` (negative: expired)."""
    await db.execute(
        "INSERT INTO idempotency_records (actor, key, request_hash, status_code, body, expires_at)"
        " SELECT 'actor', $1 || n, 'h', 201, '\"sealed\"', now() + $2"
        " FROM generate_series(1, $3) AS n",
        f"{seconds}:",
        dt.timedelta(seconds=seconds),
        count,
    )


async def test_the_scheduler_purges_expired_replies_and_keeps_live_ones(
    db: asyncpg.Connection, worker: dramatiq.Worker, settings: Settings
) -> None:
    await _records(db, 3, -1)
    await _records(db, 2, 3600)
    client = redis.Redis.from_url(settings.redis_url)
    purge = next(job for job in jobs(settings, broker, client) if job.name == "purge_idempotency")
    run_leased(client, purge)
    deadline = asyncio.get_running_loop().time() + 10
    while await db.fetchval("SELECT count(*) FROM idempotency_records WHERE expires_at <= now()"):
        assert asyncio.get_running_loop().time() < deadline, "expired replies were never purged"
        await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT count(*) FROM idempotency_records") == 2


async def test_a_purge_works_through_any_backlog_in_short_batches(
    db: asyncpg.Connection, settings: Settings
) -> None:
    await _records(db, 5, -60)
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        assert await purge_expired(engine, batch_size=2) == 5
    finally:
        await engine.dispose()
    assert await db.fetchval("SELECT count(*) FROM idempotency_records") == 0
