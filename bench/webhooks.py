"""Webhook fan-out: 10,000 events to 3 endpoints, one of them dead, while holds go on.

    python -m bench.webhooks [--duration 8] [--events 10000] [--connections 16]

Measures, in one run against the platform's processes (the Procfile's, including
its `webhooks` process), the booking path's latency (holds through
`POST /v1/bookings`, driven by wrk) while 10,000 events are published: without
webhooks, then with two live endpoints and a dead one (nothing listens on its
port) subscribed, so the relay fans the events out and the workers deliver them,
then without webhooks again; and how many deliveries per second reach the live
endpoints. The live endpoints are processes
of their own at the lowest CPU priority (`bench/receiver.py`), standing in for
servers on other machines. Target: the booking path's p99 during the fan-out
within 10% of its p99 without webhooks.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import requests

from bench.holds import _slots, platform_env, tokens
from bench.load import Figures, drive
from common.ids import new_id
from common.tokens import issue_token
from db.migrate import upgrade
from tests.support.platform import ROOT, Platform, free_port
from tests.support.services import Services

EVENT_TYPE = "booking.confirmed"
"""What the webhooks subscribe to; the holds of the load emit `booking.created`, so the
fan-out is the 10,000 events and nothing else."""
HOLD_CAPACITY = 30_000


def _register(base_url: str, admin: str, url: str) -> str:
    created = requests.post(
        f"{base_url}/admin/v1/webhooks",
        json={"url": url, "events": [EVENT_TYPE]},
        headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": str(new_id())},
        timeout=30,
    )
    created.raise_for_status()
    return created.json()["webhook"]["id"]


def _remove(base_url: str, admin: str, webhook_id: str) -> None:
    removed = requests.delete(
        f"{base_url}/admin/v1/webhooks/{webhook_id}",
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    removed.raise_for_status()


async def _emit(database_url: str, count: int) -> None:
    """`count` events as a burst of confirmations would write them, in one statement."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table(
            "outbox",
            records=[
                (new_id(), EVENT_TYPE, b, json.dumps({"booking_id": str(b), "notify": False}), "")
                for b in (new_id() for _ in range(count))
            ],
            columns=["id", "event_type", "aggregate_id", "payload", "request_id"],
        )  # fmt: skip
    finally:
        await conn.close()


@contextmanager
def _receivers(count: int) -> Iterator[list[str]]:
    """`count` endpoints, each a process at the lowest CPU priority; yields their URLs."""
    ports = [free_port() for _ in range(count)]
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", str(port)], cwd=ROOT, start_new_session=True
        )
        for port in ports
    ]
    try:
        for port in ports:
            _wait_for(f"http://127.0.0.1:{port}/count")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=1).raise_for_status()
            return
        except requests.RequestException:
            assert time.monotonic() < deadline, f"{url} did not start"
            time.sleep(0.1)


def _seen(receivers: list[str]) -> tuple[int, float]:
    """Deliveries the endpoints accepted, and when the last came."""
    counts = [requests.get(f"{url}/count", timeout=10).json() for url in receivers]
    return sum(c["count"] for c in counts), max(c["last"] for c in counts)


def run(duration: float = 8, events: int = 10_000, connections: int = 16) -> dict:
    services = Services()
    services.start()
    try:
        upgrade(services.database_url)
        env = {
            **platform_env(services),
            "WEBHOOK_ALLOW_HTTP": "true",
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "RATE_LIMIT_ADMIN": "100000/minute",
        }
        visitors = tokens()
        admin = issue_token(env["JWT_SECRET"], "general-scheduler", "bench-admin", ["admin"], 3600)
        with (
            Platform(env=env, worker_processes=1, worker_threads=8) as platform,
            _receivers(2) as live,
        ):
            platform.start("web", "worker", "scheduler", "webhooks")

            def holds(name: str) -> Figures:
                """The booking path under load while `events` events are published."""
                slot = asyncio.run(_slots(services.database_url, 1, HOLD_CAPACITY))
                asyncio.run(_emit(services.database_url, events))
                return drive(
                    platform.base_url, "platform", slot, visitors, name, duration, connections
                )

            before = holds("before")
            hooks = [_register(platform.base_url, admin, f"{url}/hook") for url in live]
            hooks.append(_register(platform.base_url, admin, f"http://127.0.0.1:{free_port()}/x"))
            started = time.monotonic()
            during = holds("during")
            throughout = _seen(live)[0] < 2 * events
            deadline = time.monotonic() + 600
            while _seen(live)[0] < 2 * events and time.monotonic() < deadline:
                time.sleep(0.2)
            delivered, last = _seen(live)
            for hook in hooks:
                _remove(platform.base_url, admin, hook)
            after = holds("after")
    finally:
        services.stop()
    return _report(before, during, after, delivered, last - started, throughout, events)


def _report(
    before: Figures,
    during: Figures,
    after: Figures,
    delivered: int,
    seconds: float,
    throughout: bool,
    events: int,
) -> dict:
    quiet_p99 = statistics.mean([before.p99_ms, after.p99_ms])
    ratio = during.p99_ms / quiet_p99
    for name, figures in (("no webhooks", before), ("fan-out", during), ("no webhooks", after)):
        print(figures.line(f"holds, {name}"))
    print(
        f"webhooks: {delivered} of {2 * events} deliveries to the live endpoints in {seconds:.1f} s"
        f" ({delivered / seconds:,.0f}/s); deliveries went on during the whole load: {throughout}"
    )
    print(
        f"  booking p99 during the fan-out {during.p99_ms:.1f} ms vs {quiet_p99:.1f} ms without"
        f" webhooks: {ratio:.2f}x (target <= 1.10x)"
    )
    return {
        "deliveries": delivered,
        "deliveries_per_second": delivered / seconds,
        "seconds": seconds,
        "p99_without_ms": quiet_p99,
        "p99_during_ms": during.p99_ms,
        "p99_ratio": ratio,
        "before": before.as_dict(),
        "during": during.as_dict(),
        "after": after.as_dict(),
        "fan_out_throughout_the_load": throughout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    run(args.duration, args.events, args.connections)


if __name__ == "__main__":
    main()
