"""A web process's memory of computed availability, dropped the moment it changes.

Every visitor of a location asks for the same few days, and computing a day is
the expensive part of `GET /v1/slots`. Entries are kept per location and dropped
when Postgres announces a change to that location's slots (the `slot_availability`
notification, sent at commit by a trigger). Changes nothing writes are handled by
time: an entry lives until the earliest moment it could go stale on its own (an
active hold passing its deadline, an eligible slot starting) and never longer than
`max_age_seconds`.

A read racing a change cannot store what it read: each location has a generation,
bumped on every notification, and an entry computed under an older generation is
not kept. While the listening connection is down nothing is cached at all.
Concurrent misses for the same entry share one computation, so a change under
load costs one query per entry, not one per waiting request.
"""

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from aiohttp import web

CHANNEL = "slot_availability"
RECONNECT_SECONDS = 1.0
MAX_ENTRIES_PER_LOCATION = 512
_log = structlog.get_logger("web.availability_cache")


@dataclass
class _Entry:
    generation: tuple[int, int]
    expires: float
    value: Any


@dataclass
class AvailabilityCache:
    dsn: str
    max_age_seconds: float = 30.0
    _entries: dict[str, dict[Hashable, _Entry]] = field(default_factory=dict)
    _generations: dict[str, int] = field(default_factory=dict)
    _epoch: int = 0
    _inflight: dict[Hashable, asyncio.Future] = field(default_factory=dict)
    _connection: asyncpg.Connection | None = None
    _reconnect: asyncio.Task | None = None
    _stopped: bool = False

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def start(self) -> None:
        try:
            connection = await asyncpg.connect(self.dsn.replace("+asyncpg", "", 1))
            await connection.add_listener(CHANNEL, self._on_change)
        except (OSError, asyncpg.PostgresError) as exc:
            _log.warning("availability_cache_not_listening", error=type(exc).__name__)
            self._schedule_reconnect()
            return
        connection.add_termination_listener(self._on_lost)
        self._connection = connection

    async def stop(self) -> None:
        self._stopped = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                await connection.close()

    async def get(
        self,
        location_id: str,
        key: Hashable,
        compute: Callable[[], Awaitable[tuple[Any, dt.datetime]]],
    ) -> Any:
        """The cached value, or `compute()`'s, which returns it and when it goes stale."""
        entry = self._entries.get(location_id, {}).get(key)
        generation = self._generation(location_id)
        if (
            entry is not None
            and entry.generation == generation
            and entry.expires > time.monotonic()
        ):
            return entry.value
        flight = (location_id, key, generation)
        task = self._inflight.get(flight)
        if task is None:
            task = asyncio.ensure_future(self._fill(location_id, key, generation, compute))
            self._inflight[flight] = task
            task.add_done_callback(lambda _: self._inflight.pop(flight, None))
        return await asyncio.shield(task)

    async def _fill(
        self,
        location_id: str,
        key: Hashable,
        generation: tuple[int, int],
        compute: Callable[[], Awaitable[tuple[Any, dt.datetime]]],
    ) -> Any:
        listening = self.listening
        value, stale_at = await compute()
        if listening and self._generation(location_id) == generation:
            lifetime = (stale_at - dt.datetime.now(dt.UTC)).total_seconds()
            now = time.monotonic()
            bucket = self._entries.setdefault(location_id, {})
            if len(bucket) >= MAX_ENTRIES_PER_LOCATION:
                for old in [k for k, e in bucket.items() if e.expires <= now]:
                    del bucket[old]
            bucket[key] = _Entry(generation, now + min(self.max_age_seconds, lifetime), value)
        return value

    def _generation(self, location_id: str) -> tuple[int, int]:
        return self._epoch, self._generations.get(location_id, 0)

    def forget(self, location_id: str) -> None:
        """Drops the location's entries now, as its notification will; a request that
        changed the location calls it after commit, so its own process never answers
        from before the change, however late the notification."""
        self._generations[location_id] = self._generations.get(location_id, 0) + 1
        self._entries.pop(location_id, None)

    def _on_change(self, _conn: Any, _pid: int, _channel: str, location_id: str) -> None:
        self.forget(location_id)

    def _on_lost(self, _conn: Any) -> None:
        _log.warning("availability_cache_listener_lost")
        self._connection = None
        self._epoch += 1
        self._entries.clear()
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._stopped:
            return
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_later())

    async def _reconnect_later(self) -> None:
        await asyncio.sleep(RECONNECT_SECONDS)
        await self.start()


AVAILABILITY_CACHE = web.AppKey("availability_cache", AvailabilityCache)
