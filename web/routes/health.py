"""Liveness and readiness probes."""

import asyncio
from collections.abc import Awaitable

from pydantic import BaseModel

from db.engine import ping
from web.responses import Reply
from web.routing import Call, Route
from web.state import BROKER, ENGINE, REDIS, SETTINGS, SHARED_REDIS


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    postgres: str
    redis: str
    redis_hot_path: str
    broker: str


async def healthz(call: Call) -> Reply:
    return Reply(200, {"status": "ok"})


async def _postgres_ok(call: Call) -> bool:
    await ping(call.request.app[ENGINE])
    return True


async def _redis_ok(call: Call) -> bool:
    return bool(await call.request.app[REDIS].ping())


async def _hot_path_ok(call: Call) -> bool:
    """The multiplexed connection that rate limits, idempotency and holds use."""
    return await call.request.app[SHARED_REDIS].execute("PING") == "PONG"


async def _broker_ok(call: Call) -> bool:
    """The Dramatiq broker's own connection, which the web uses to enqueue commands."""
    return bool(await asyncio.to_thread(call.request.app[BROKER].client.ping))


async def _probe(check: Awaitable[bool], seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            return "ok" if await check else "unavailable"
    except Exception:
        return "unavailable"


async def readyz(call: Call) -> Reply:
    """Every dependency probed at once, each for at most twice the Redis timeout, so the
    probe answers within the bound the contract sets for requests (twice it plus 1 s)."""
    seconds = 2 * call.request.app[SETTINGS].redis_timeout_seconds
    checks = {
        "postgres": _postgres_ok(call),
        "redis": _redis_ok(call),
        "redis_hot_path": _hot_path_ok(call),
        "broker": _broker_ok(call),
    }
    outcomes = await asyncio.gather(*(_probe(check, seconds) for check in checks.values()))
    results = dict(zip(checks, outcomes, strict=True))
    ready = all(v == "ok" for v in results.values())
    return Reply(200 if ready else 503, {"status": "ready" if ready else "unavailable", **results})


ROUTES = [
    Route(
        "GET",
        "/healthz",
        healthz,
        "The process is running",
        access="public",
        responses={200: Health},
        tag="ops",
    ),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Postgres, Redis (both connections) and the Dramatiq broker answer",
        access="public",
        responses={200: Readiness, 503: Readiness},
        tag="ops",
    ),
]
