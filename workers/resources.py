"""Connections for async actors, one set per event loop.

Dramatiq's AsyncIO middleware runs async actors on one event loop thread per
worker process; asyncpg and redis connections belong to the loop that opened
them, so they are created lazily on that loop and replaced if the loop changes
(a worker restarted in the same process, as the tests do). A worker that stops
closes them on its loop before the loop stops (`CloseResources`): left open, each
restart would keep its connections until Postgres refuses new clients.
"""

import asyncio
from dataclasses import dataclass

from dramatiq import Middleware
from dramatiq.asyncio import get_event_loop_thread
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from common.pii import PiiKeys
from common.settings import get_settings
from db.engine import create_engine


@dataclass
class Resources:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    redis: Redis
    pii: PiiKeys


_current: Resources | None = None


def resources() -> Resources:
    global _current
    loop = asyncio.get_running_loop()
    if _current is None or _current.loop is not loop:
        settings = get_settings()
        _current = Resources(
            loop=loop,
            engine=create_engine(
                settings.database_url, pool_size=10, max_overflow=5, pre_ping=False
            ),
            redis=Redis.from_url(settings.redis_url, decode_responses=True),
            pii=PiiKeys.parse(settings.pii_key),
        )
    return _current


async def close() -> None:
    """Closes the running loop's connections, if it opened any."""
    global _current
    if _current is None or _current.loop is not asyncio.get_running_loop():
        return
    current, _current = _current, None
    await current.engine.dispose()
    await current.redis.aclose()


class CloseResources(Middleware):
    """Closes the event loop's connections when the worker stops, while the loop still runs.

    Listed after `AsyncIO`: "after" hooks run in reverse order, so this one runs once the
    worker threads are done and before the loop stops.
    """

    def after_worker_shutdown(self, broker, worker):
        thread = get_event_loop_thread()
        if thread is not None:
            thread.run_coroutine(close())
