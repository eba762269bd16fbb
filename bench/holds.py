"""Holds over HTTP: the platform next to a plain `SELECT … FOR UPDATE` server, in one run.

    python -m bench.holds [--duration 10] [--connections 64]

Two scenarios, each against both servers on the same kind of data:
(a) hot drop: 10 slots of capacity 1 raced, nearly every request refused;
(b) hot slot: one slot of large capacity, every request a real hold.
Targets: (a) at least 2x the plain server's requests/s, (b) at least 1x its holds/s,
p99 under 150 ms, no 5xx, no oversell (the invariant checker). The load generator
(wrk) shares the machine's two cores with the servers.
"""

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid

import asyncpg

from bench.load import Figures, drive
from common.ids import new_id
from common.pii import generate_key
from common.tokens import issue_token
from db.invariants import violations
from db.migrate import upgrade
from tests.support.platform import Platform, free_port
from tests.support.services import Services

JWT_SECRET = "bench-secret-" + "x" * 64
SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=5)


async def _slots(database_url: str, count: int, capacity: int) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        location = new_id()
        await conn.execute("INSERT INTO locations (id, name) VALUES ($1, 'Bench')", location)
        slots = [new_id() for _ in range(count)]
        await conn.executemany(
            "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (s, location, SOON.date(), SOON + dt.timedelta(hours=i),
                 SOON + dt.timedelta(hours=i, minutes=30), capacity)
                for i, s in enumerate(slots)
            ],
        )  # fmt: skip
        return [str(s) for s in slots]
    finally:
        await conn.close()


def platform_env(services: Services) -> dict[str, str]:
    """Settings for a benchmarked platform: quiet logs, no rate limits, no rolling generation."""
    return {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "JWT_SECRET": JWT_SECRET,
        "PII_KEY": f"k1:{generate_key()}",
        "EXPOSURE_SALT": "bench",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_BOOKING_POST": "100000000/minute",
        "GENERATION_HORIZON_DAYS": "0",
    }


def tokens(count: int = 64) -> list[str]:
    return [
        issue_token(JWT_SECRET, "general-scheduler", str(uuid.uuid4()), ["user"], 3600)
        for _ in range(count)
    ]


def run(duration: float = 10, connections: int = 64) -> dict:
    services = Services()
    services.start()
    plain: subprocess.Popen | None = None
    try:
        upgrade(services.database_url)
        env = platform_env(services)
        plain_port = free_port()
        plain = subprocess.Popen(
            [sys.executable, "-m", "bench.plain_server", str(plain_port), services.database_url],
            env={**os.environ},
        )
        visitors = tokens()
        results: dict = {}
        with Platform(env=env, worker_processes=1, worker_threads=8) as platform:
            platform.start("web", "worker", "scheduler")
            plain_url = f"http://127.0.0.1:{plain_port}"
            for name, count, capacity in (("hot_drop", 10, 1), ("hot_slot", 1, 30000)):
                ours = asyncio.run(_slots(services.database_url, count, capacity))
                theirs = asyncio.run(_slots(services.database_url, count, capacity))
                baseline = drive(plain_url, "plain", theirs, [], name, duration, connections)
                measured = drive(
                    platform.base_url, "platform", ours, visitors, name, duration, connections
                )
                results[name] = {"platform": measured.as_dict(), "plain": baseline.as_dict()}
                _report(name, measured, baseline)
        broken = asyncio.run(violations(services.database_url))
        results["violations"] = len(broken)
        print(f"invariant violations (oversell or counter drift): {len(broken)}")
        return results
    finally:
        if plain is not None:
            plain.terminate()
            plain.wait(10)
        services.stop()


def _report(name: str, ours: Figures, theirs: Figures) -> None:
    print(ours.line(f"{name} platform"))
    print(theirs.line(f"{name} plain FOR UPDATE"))
    if name == "hot_drop":
        ratio = ours.requests_per_second / theirs.requests_per_second
        print(f"  hot drop: {ratio:.2f}x the plain server's requests/s (target >= 2x)")
    else:
        ratio = ours.created_per_second / max(theirs.created_per_second, 1)
        print(f"  hot slot: {ratio:.2f}x the plain server's holds/s (target >= 1x)")
    print(f"  p99 {ours.p99_ms:.1f} ms (target < 150 ms); 5xx/other: {ours.server_errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    run(args.duration, args.connections)


if __name__ == "__main__":
    main()
