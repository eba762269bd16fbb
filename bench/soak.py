"""Soak: steady mixed read traffic for a long time, printing memory and latency drift.

    python -m bench.soak [--minutes 10] [--connections 16]

Not in CI. Each minute prints the RSS of every platform process (with its children, so
all Dramatiq worker processes count) and that minute's p50/p99, so a leak or a slowdown
shows as a drift from the first minute.
"""

import argparse
import asyncio
import statistics
import time

import aiohttp
import psutil

from common.pii import generate_key
from db.migrate import upgrade
from tests.support.platform import Platform
from tests.support.services import Services

PATHS = ("/readyz", "/healthz", "/metrics")


def _rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    members = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in members if p.is_running()) / 2**20


async def _minute(base_url: str, connections: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + 60

    async def client(session: aiohttp.ClientSession, index: int) -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            async with session.get(base_url + PATHS[index % len(PATHS)]) as response:
                await response.read()
            latencies.append(time.monotonic() - started)
            index += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session, i) for i in range(connections)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    services = Services()
    services.start()
    try:
        upgrade(services.database_url)
        env = {
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "JWT_SECRET": "soak-secret-" + "x" * 64,
            "PII_KEY": f"k1:{generate_key()}",
            "EXPOSURE_SALT": "soak",
            "LOG_LEVEL": "WARNING",
        }
        with Platform(env=env) as platform:
            platform.start("web", "worker", "scheduler")
            for minute in range(1, args.minutes + 1):
                latencies = asyncio.run(_minute(platform.base_url, args.connections))
                q = statistics.quantiles(latencies, n=100)
                memory = "  ".join(
                    f"{name} {_rss_mb(p.pid):.0f} MB" for name, p in platform.processes.items()
                )
                print(
                    f"minute {minute:>2}: {len(latencies) / 60:>7.0f} req/s"
                    f"  p50 {q[49] * 1000:.1f} ms  p99 {q[98] * 1000:.1f} ms  {memory}",
                    flush=True,
                )
    finally:
        services.stop()


if __name__ == "__main__":
    main()
