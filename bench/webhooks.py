"""Webhook fan-out: 10,000 events to 3 endpoints, one of them dead, while holds go on.

    python -m bench.webhooks [--duration 8] [--events 10000] [--connections 16] [--rounds 3]

Measures, in one run against the platform's processes (the Procfile's, including
its `webhooks` process), the booking path's latency (holds through
`POST /v1/bookings`, driven by wrk) while 10,000 events are published: without
webhooks, then with two live endpoints and a dead one (nothing listens on its
port) subscribed, so the relay fans the events out and the workers deliver them;
and how many deliveries per second reach the live endpoints. The pair is run
several times and the medians compared: on a shared machine one 8-second window
moves by more than the target. The live endpoints are processes
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
from dataclasses import dataclass

import asyncpg
import requests

from bench.holds import _slots, expose, platform_env, tokens
from bench.load import Figures, drive
from bench.services import migrated
from common.ids import new_id
from common.tokens import issue_token
from tests.support.platform import ROOT, Platform, free_port

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


@dataclass
class Round:
    quiet: Figures
    """The booking path while `events` events are published to no webhook."""
    fan_out: Figures
    """The same, with three webhooks subscribed (two live, one dead)."""
    deliveries_per_second: float
    """To the live endpoints, from the events' publication to the last delivery."""
    throughout: bool
    """Whether deliveries went on for the whole of the fan-out's load."""


def run(duration: float = 8, events: int = 10_000, connections: int = 16, rounds: int = 3) -> dict:
    with migrated() as services:
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
                expose(platform.base_url, services.database_url, slot, visitors)
                return drive(
                    platform.base_url, "platform", slot, visitors, name, duration, connections
                ).require_holds()

            def one_round(n: int) -> Round:
                quiet = holds(f"quiet-{n}")
                hooks = [_register(platform.base_url, admin, f"{url}/hook") for url in live]
                dead = f"http://127.0.0.1:{free_port()}/x"
                hooks.append(_register(platform.base_url, admin, dead))
                already, _ = _seen(live)
                started = time.monotonic()
                fan_out = holds(f"fan-out-{n}")
                throughout = _seen(live)[0] - already < 2 * events
                deadline = time.monotonic() + 600
                while _seen(live)[0] - already < 2 * events and time.monotonic() < deadline:
                    time.sleep(0.2)
                delivered, last = _seen(live)
                for hook in hooks:
                    _remove(platform.base_url, admin, hook)
                rate = (delivered - already) / (last - started)
                return Round(quiet, fan_out, rate, throughout)

            measured = [one_round(n) for n in range(rounds)]
    return _report(measured, events)


def _report(rounds: list[Round], events: int) -> dict:
    for n, measured in enumerate(rounds):
        print(measured.quiet.line(f"round {n}, no webhooks"))
        print(measured.fan_out.line(f"round {n}, fan-out"))
        print(
            f"  {2 * events} deliveries to the live endpoints at"
            f" {measured.deliveries_per_second:,.0f}/s (going on during the whole load:"
            f" {measured.throughout})"
        )
    quiet = statistics.median(r.quiet.p99_ms for r in rounds)
    busy = statistics.median(r.fan_out.p99_ms for r in rounds)
    rate = statistics.median(r.deliveries_per_second for r in rounds)
    print(
        f"webhooks: median booking p99 {busy:.1f} ms during the fan-out vs {quiet:.1f} ms without"
        f" webhooks: {busy / quiet:.2f}x (target <= 1.10x); median {rate:,.0f} deliveries/s"
        " to the live endpoints"
    )
    return {
        "p99_without_ms": quiet,
        "p99_during_ms": busy,
        "p99_ratio": busy / quiet,
        "deliveries_per_second": rate,
        "rounds": [
            {
                "quiet": r.quiet.as_dict(),
                "fan_out": r.fan_out.as_dict(),
                "deliveries_per_second": r.deliveries_per_second,
                "throughout": r.throughout,
            }
            for r in rounds
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.duration, args.events, args.connections, args.rounds)


if __name__ == "__main__":
    main()
