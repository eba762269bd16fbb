"""Webhook fan-out: 10,000 events to 3 endpoints, one of them dead, while holds go on.

    python -m bench.webhooks [--duration 8] [--events 10000] [--connections 16]

Measures, in one run against the platform's processes: the booking path's latency
(holds through `POST /v1/bookings`, driven by wrk) without webhooks, then while the
relay fans 10,000 events out to two live endpoints and a dead one (nothing listens
on its port) and the workers deliver them, then without webhooks again; and how
many deliveries per second reach the live endpoints. Target: the booking path's
p99 during the fan-out within 10% of its p99 without webhooks.
"""

import argparse
import asyncio
import json
import statistics
import time

import asyncpg
import requests

from bench.holds import _slots, platform_env, tokens
from bench.load import Figures, drive
from common.ids import new_id
from common.tokens import issue_token
from db.migrate import upgrade
from tests.support.platform import Platform, free_port
from tests.support.receiver import Receiver
from tests.support.services import Services

EVENT_TYPE = "booking.confirmed"
"""What the webhooks subscribe to; the holds of the load emit `booking.created`, so the
fan-out is the 10,000 events and nothing else."""
HOLD_CAPACITY = 30_000


def _register(base_url: str, admin: str, url: str) -> None:
    created = requests.post(
        f"{base_url}/admin/v1/webhooks",
        json={"url": url, "events": [EVENT_TYPE]},
        headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": str(new_id())},
        timeout=30,
    )
    created.raise_for_status()


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


def _delivered(receivers: list[Receiver]) -> int:
    return sum(sum(r.status == 200 for r in receiver.snapshot()) for receiver in receivers)


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
            Receiver() as first,
            Receiver() as second,
        ):
            platform.start("web", "worker", "scheduler")
            live = [first, second]
            slot = asyncio.run(_slots(services.database_url, 1, HOLD_CAPACITY))
            before = drive(
                platform.base_url, "platform", slot, visitors, "before", duration, connections
            )

            for receiver in live:
                _register(platform.base_url, admin, receiver.url)
            _register(platform.base_url, admin, f"http://127.0.0.1:{free_port()}/dead")
            slot = asyncio.run(_slots(services.database_url, 1, HOLD_CAPACITY))
            started = time.monotonic()
            asyncio.run(_emit(services.database_url, events))
            during = drive(
                platform.base_url, "platform", slot, visitors, "during", duration, connections
            )
            overlap = _delivered(live) < 2 * events
            deadline = time.monotonic() + 300
            while _delivered(live) < 2 * events and time.monotonic() < deadline:
                time.sleep(0.1)
            last = max(r.at for receiver in live for r in receiver.snapshot())
            delivered = _delivered(live)

            slot = asyncio.run(_slots(services.database_url, 1, HOLD_CAPACITY))
            after = drive(
                platform.base_url, "platform", slot, visitors, "after", duration, connections
            )
    finally:
        services.stop()
    return _report(before, during, after, delivered, last - started, overlap, events)


def _report(
    before: Figures,
    during: Figures,
    after: Figures,
    delivered: int,
    seconds: float,
    overlap: bool,
    events: int,
) -> dict:
    quiet_p99 = statistics.mean([before.p99_ms, after.p99_ms])
    ratio = during.p99_ms / quiet_p99
    for name, figures in (("before", before), ("during fan-out", during), ("after", after)):
        print(figures.line(f"holds {name}"))
    print(
        f"webhooks: {delivered} of {2 * events} deliveries to the live endpoints in {seconds:.1f} s"
        f" ({delivered / seconds:,.0f}/s); the load overlapped the whole fan-out: {not overlap}"
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
