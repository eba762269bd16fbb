"""Fixtures for fault tests: real processes and servers the test may kill."""

# First, so that services are provisioned before any application module is imported.
from tests.support.provision import TEST_ENV

# isort: split

import asyncio
import tempfile
from collections.abc import Iterator

import asyncpg
import pgserver
import pytest
import redis
from pgserver._commands import pg_ctl

from common.settings import get_settings
from db.migrate import upgrade
from tests.support.platform import Platform


class OwnPostgres:
    """An embedded Postgres this test alone uses, so it can be stopped and started."""

    def __init__(self) -> None:
        self.server = pgserver.get_server(
            tempfile.mkdtemp(prefix="gs-fault-pg-"), cleanup_mode="delete"
        )
        self.server.psql("CREATE DATABASE scheduler;")
        self.url = self.server.get_uri("scheduler")

    def stop(self) -> None:
        pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    postgres = OwnPostgres()
    upgrade(postgres.url)
    try:
        yield postgres
    finally:
        postgres.close()


@pytest.fixture
def platform_env() -> dict[str, str]:
    """Settings for a platform on the run's Postgres and Redis, emptied first."""
    settings = get_settings()
    redis.Redis.from_url(settings.redis_url).flushdb()
    asyncio.run(_truncate(settings.database_url))
    return {
        **TEST_ENV,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LOG_LEVEL": "INFO",
        "DRAMATIQ_HEARTBEAT_TIMEOUT_MS": "3000",
        # Storms use slots arranged without rules; rolling generation would block them.
        "GENERATION_HORIZON_DAYS": "0",
    }


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetchval(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        await conn.execute(f"TRUNCATE {tables}")
    finally:
        await conn.close()


@pytest.fixture
def platform(platform_env: dict[str, str]) -> Iterator[Platform]:
    running = Platform(env=platform_env)
    try:
        yield running
    finally:
        running.stop()
