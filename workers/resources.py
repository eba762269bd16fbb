"""Connections for async actors, one set per event loop.

Dramatiq's AsyncIO middleware runs async actors on one event loop thread per
worker process; asyncpg and redis connections belong to the loop that opened
them, so they are created lazily on that loop and replaced if the loop changes
(a worker restarted in the same process, as the tests do).
"""

import asyncio
from dataclasses import dataclass

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
