"""Liveness and readiness probes."""

import asyncio

from pydantic import BaseModel
from sqlalchemy import text

from web.responses import Reply
from web.routing import Call, Route
from web.state import ENGINE, REDIS
from workers.broker import broker

PROBE_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    postgres: str
    redis: str
    broker: str


async def healthz(call: Call) -> Reply:
    return Reply(200, {"status": "ok"})


async def _postgres_ok(call: Call) -> bool:
    async with call.request.app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True


async def _redis_ok(call: Call) -> bool:
    return bool(await call.request.app[REDIS].ping())


async def _broker_ok(call: Call) -> bool:
    """The Dramatiq broker's own connection, which the web uses to enqueue commands."""
    return bool(await asyncio.to_thread(broker.client.ping))


async def readyz(call: Call) -> Reply:
    checks = {"postgres": _postgres_ok(call), "redis": _redis_ok(call), "broker": _broker_ok(call)}
    results: dict[str, str] = {}
    for name, probe in checks.items():
        try:
            ok = await asyncio.wait_for(probe, PROBE_TIMEOUT_SECONDS)
        except Exception:
            ok = False
        results[name] = "ok" if ok else "unavailable"
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
        "Postgres, Redis and the Dramatiq broker answer",
        access="public",
        responses={200: Readiness, 503: Readiness},
        tag="ops",
    ),
]
