"""Soak: mixed traffic for a long time, printing memory and latency drift.

    python -m bench.soak [--minutes 10] [--connections 16]

Not in CI. Visitors with their own tokens read exposed slots, hold, read their
booking, and confirm or cancel it; a few staff list bookings; a scraper reads
`/metrics`. Each minute prints requests/s, p50/p99 and the outcomes of that
minute, and the RSS of every platform process (with its children, so all web
and Dramatiq worker processes count), so a leak or a slowdown shows as a drift
from the first minute. It ends with the invariant checker.
"""

import argparse
import asyncio
import collections
import json
import random
import statistics
import time
import uuid

import aiohttp
import psutil

from bench.holds import JWT_SECRET, _days, _slots, platform_env
from bench.services import migrated
from common.tokens import issue_token
from db.invariants import violations
from tests.support.platform import Platform

SLOTS = 200
CAPACITY = 30_000


def _token(subject: str, role: str) -> str:
    return issue_token(JWT_SECRET, "general-scheduler", subject, [role], 86400)


def _rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    members = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in members if p.is_running()) / 2**20


class Visitor:
    """One visitor's loop: look at a day, hold a slot it was shown, look at the booking,
    then confirm or cancel it."""

    def __init__(self, base_url: str, days: list[tuple[str, str]], rng: random.Random) -> None:
        self.base_url = base_url
        self.days = days
        self.rng = rng
        self.token = _token(str(uuid.uuid4()), "user")

    async def once(self, session: aiohttp.ClientSession, timed: "Timed") -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        location, day = self.rng.choice(self.days)
        shown = await timed.get(session, f"/v1/slots?location_id={location}&date={day}", auth)
        if not shown.get("slots"):
            return
        body = {
            "slot_id": self.rng.choice(shown["slots"])["id"],
            "customer": {"name": "Soak", "phone": f"+97150{self.rng.randrange(10**7):07d}"},
        }
        held = await timed.post(session, "/v1/bookings", body, auth)
        if held.get("booking", {}).get("status") != "held":
            return
        booking = held["booking"]["id"]
        await timed.get(session, f"/v1/bookings/{booking}", auth)
        action = "confirm" if self.rng.random() < 0.7 else "cancel"
        await timed.post(session, f"/v1/bookings/{booking}/{action}", None, auth)


class Timed:
    """Sends requests and keeps each one's latency and status for the minute."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.latencies: list[float] = []
        self.statuses: collections.Counter[int] = collections.Counter()

    async def post(self, session, path: str, body: object, headers: dict) -> dict:
        headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        return await self._send(session.post(self.base_url + path, json=body, headers=headers))

    async def get(self, session, path: str, headers: dict | None = None) -> dict:
        return await self._send(session.get(self.base_url + path, headers=headers))

    async def _send(self, request) -> dict:
        started = time.monotonic()
        async with request as response:
            raw = await response.read()
        self.latencies.append(time.monotonic() - started)
        self.statuses[response.status] += 1
        return json.loads(raw) if response.content_type == "application/json" else {}


async def _minute(base_url: str, visitors: list[Visitor], staff: str) -> Timed:
    timed = Timed(base_url)
    deadline = time.monotonic() + 60

    async def visit(visitor: Visitor) -> None:
        while time.monotonic() < deadline:
            await visitor.once(session, timed)

    async def watch() -> None:
        while time.monotonic() < deadline:
            await timed.get(session, "/admin/v1/bookings?limit=50", {"Authorization": staff})
            await timed.get(session, "/metrics")

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(visit(v) for v in visitors), watch())
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with migrated() as services:
        env = {
            **platform_env(services),
            "RATE_LIMIT_ADMIN": "100000000/minute",
            "RATE_LIMIT_USER_GET": "100000000/minute",
            "LOG_LEVEL": "WARNING",
        }
        slots = asyncio.run(_slots(services.database_url, SLOTS, CAPACITY))
        days = sorted(asyncio.run(_days(services.database_url, slots)))
        rng = random.Random(7)
        staff = "Bearer " + _token("soak-admin", "admin")
        with Platform(env=env) as platform:
            platform.start("web", "worker", "scheduler")
            visitors = [Visitor(platform.base_url, days, rng) for _ in range(args.connections)]
            for minute in range(1, args.minutes + 1):
                timed = asyncio.run(_minute(platform.base_url, visitors, staff))
                q = statistics.quantiles(timed.latencies, n=100)
                memory = "  ".join(
                    f"{name} {_rss_mb(p.pid):.0f} MB" for name, p in platform.processes.items()
                )
                outcomes = " ".join(f"{s}={n}" for s, n in sorted(timed.statuses.items()))
                print(
                    f"minute {minute:>2}: {len(timed.latencies) / 60:>6.0f} req/s"
                    f"  p50 {q[49] * 1000:.1f} ms  p99 {q[98] * 1000:.1f} ms  {outcomes}  {memory}",
                    flush=True,
                )
        broken = asyncio.run(violations(services.database_url))
        print(f"invariant violations (oversell or counter drift): {len(broken)}")


if __name__ == "__main__":
    main()
