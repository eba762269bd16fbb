"""Holds over HTTP: the platform next to a plain `SELECT … FOR UPDATE` server, in one run.

    python -m bench.holds [--duration 10] [--connections 64] [--scenarios drop,crowd,...]

Scenarios, each against both servers on the same kind of data:
(a) `drop`: 10 slots of capacity 1 raced by 64 visitor tokens, nearly every request refused;
(b) `crowd`: the same drop raced by 20,000 visitor sessions, each from its own address
    (`X-Forwarded-For` through a trusted proxy), so no request is cheaper for a token or an
    address seen before;
(c) `slot`: one slot of large capacity, every request a real hold;
(d) `idle`: the first hold after 5 s of silence, 20 times (the platform alone);
(e) `enforced`: the hot drop in turns on a platform enforcing exposure and on one with
    `EXPOSURE_ENFORCED=false` (the median of three rounds).
Targets: drop >= 3x the plain server's requests/s, crowd >= 2.5x, slot >= 2x its holds/s,
p99 under 150 ms in drop and crowd, idle p99 under 50 ms, enforced within 10% of not, no
5xx, no oversell (the invariant checker). The load generator (wrk) shares the machine's
two cores with the servers.

Visitors may hold only what `GET /v1/slots` showed them (contract §10): before each
scenario every visitor asks for the days of its slots, under an exposure variant that
shows them all, so every hold is of an offered slot. The hot slot's visitors may hold
without limit (`MAX_LIVE_HOLDS`), or its 64 tokens would stop at 128 holds.
"""

import argparse
import asyncio
import datetime as dt
import json
import math
import statistics
import time
import uuid

import aiohttp
import asyncpg
import requests

from bench import plain_server
from bench.load import Figures, drive, visitor_address
from bench.services import migrated
from common.ids import new_id
from common.pii import generate_key
from common.tokens import issue_session_token, issue_token
from db.invariants import violations
from tests.support.platform import Platform
from tests.support.services import Services

JWT_SECRET = "bench-secret-" + "x" * 64
SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=5)
SHOW_ALL = "bench-all"
"""An exposure variant showing a location's every slot of a day (up to 10)."""


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
        "RATE_LIMIT_USER_GET": "100000000/minute",
        "RATE_LIMIT_IP_GET": "100000000/minute",
        "RATE_LIMIT_IP_BOOKING_POST": "100000000/minute",
        "TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "GENERATION_HORIZON_DAYS": "0",
        "MAX_LIVE_HOLDS": "1000000",
        "EXPOSURE_VARIANTS": json.dumps(
            {
                "control": {},
                SHOW_ALL: {"location_min": 10, "location_max": 10, "fairness": False},
            }
        ),
    }


async def _days(database_url: str, slots: list[str]) -> set[tuple[str, str]]:
    """The (location, local date) of each slot, as `GET /v1/slots` asks for them."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT s.location_id, (s.start_at AT TIME ZONE l.timezone)::date AS day"
            " FROM slot_instances s JOIN locations l ON l.id = s.location_id"
            " WHERE s.id = ANY($1::uuid[])",
            slots,
        )
        return {(str(r["location_id"]), r["day"].isoformat()) for r in rows}
    finally:
        await conn.close()


def expose(base_url: str, database_url: str, slots: list[str], visitors: list[str]) -> None:
    """Every visitor is shown every slot, as the widget would show them."""
    days = asyncio.run(_days(database_url, slots))
    with requests.Session() as session:
        for visitor in visitors:
            shown: set[str] = set()
            for location, day in days:
                reply = session.get(
                    f"{base_url}/v1/slots",
                    params={"location_id": location, "date": day},
                    headers={"Authorization": f"Bearer {visitor}", "X-Exposure-Variant": SHOW_ALL},
                    timeout=10,
                )
                reply.raise_for_status()
                shown |= {s["id"] for s in reply.json()["slots"]}
            assert shown == set(slots), "a bench visitor was not shown every slot"


def tokens(count: int = 64) -> list[str]:
    return [
        issue_token(JWT_SECRET, "general-scheduler", str(uuid.uuid4()), ["user"], 3600)
        for _ in range(count)
    ]


def sessions(count: int) -> list[str]:
    """Visitor session tokens, as `POST /v1/sessions` mints them (each spends its address's
    budgets too)."""
    return [
        issue_session_token(JWT_SECRET, "general-scheduler", str(uuid.uuid4()), 3600)
        for _ in range(count)
    ]


async def _expose_crowd(base_url: str, days: set[tuple[str, str]], visitors: list[str]) -> None:
    """`expose` for a crowd: every visitor from its own address, 32 at a time."""
    async with aiohttp.ClientSession() as session:
        gate = asyncio.Semaphore(32)

        async def one(index: int, visitor: str) -> None:
            headers = {
                "Authorization": f"Bearer {visitor}",
                "X-Exposure-Variant": SHOW_ALL,
                "X-Forwarded-For": visitor_address(index),
            }
            for location, day in days:
                params = {"location_id": location, "date": day}
                async with (
                    gate,
                    session.get(f"{base_url}/v1/slots", params=params, headers=headers) as reply,
                ):
                    assert reply.status == 200, await reply.text()

        await asyncio.gather(*(one(i, v) for i, v in enumerate(visitors)))


SCENARIOS = ("drop", "crowd", "slot", "idle", "enforced")
CROWD = 20_000
IDLE_SAMPLES = 20
IDLE_SILENCE_SECONDS = 5.0


def run(
    duration: float = 10, connections: int = 64, scenarios: tuple[str, ...] = SCENARIOS
) -> dict:
    with migrated() as services, plain_server.running(services.database_url) as plain_url:
        env = platform_env(services)
        visitors = tokens()
        results: dict = {}
        with Platform(env=dict(env), worker_processes=1, worker_threads=8) as platform:
            platform.start("web", "worker", "scheduler")
            if "idle" in scenarios:
                results["idle"] = _idle(platform.base_url, services.database_url)
            for name in ("drop", "crowd", "slot"):
                if name in scenarios:
                    results[name] = _against_plain(
                        name, platform.base_url, plain_url, services.database_url,
                        visitors, duration, connections,
                    )  # fmt: skip
        if "enforced" in scenarios:
            results["exposure_enforced"] = _enforced_vs_not(
                services.database_url, env, visitors, duration, connections
            )
        broken = asyncio.run(violations(services.database_url))
        results["violations"] = len(broken)
        print(f"invariant violations (oversell or counter drift): {len(broken)}")
        return results


def _against_plain(
    name: str,
    base_url: str,
    plain_url: str,
    database_url: str,
    visitors: list[str],
    duration: float,
    connections: int,
) -> dict:
    """One scenario on fresh slots of each server, the plain one first."""
    count, capacity = (1, 30_000) if name == "slot" else (10, 1)
    ours = asyncio.run(_slots(database_url, count, capacity))
    theirs = asyncio.run(_slots(database_url, count, capacity))
    mode = "platform"
    if name == "crowd":
        visitors, mode = sessions(CROWD), "crowd"
        asyncio.run(_expose_crowd(base_url, asyncio.run(_days(database_url, ours)), visitors))
    else:
        expose(base_url, database_url, ours, visitors)
    baseline = drive(plain_url, "plain", theirs, [], name, duration, connections).require_holds()
    measured = drive(base_url, mode, ours, visitors, name, duration, connections).require_holds()
    _report(name, measured, baseline)
    return {"platform": measured.as_dict(), "plain": baseline.as_dict()}


def _idle(base_url: str, database_url: str) -> dict:
    """The first hold after `IDLE_SILENCE_SECONDS` of silence, `IDLE_SAMPLES` times: how
    long a lone visitor waits when nothing else is going on."""
    (slot,) = asyncio.run(_slots(database_url, 1, IDLE_SAMPLES + 1))
    visitors = tokens(IDLE_SAMPLES + 1)
    expose(base_url, database_url, [slot], visitors)
    waits = []
    with requests.Session() as session:
        for n, visitor in enumerate(visitors):  # the first, after start, warms up
            if n:
                time.sleep(IDLE_SILENCE_SECONDS)
            started = time.perf_counter()
            held = session.post(
                f"{base_url}/v1/bookings",
                json={"slot_id": slot, "customer": {"name": "Idle", "phone": f"+9715012{n:05d}"}},
                headers={"Authorization": f"Bearer {visitor}", "Idempotency-Key": visitor[-32:]},
                timeout=10,
            )
            waits.append((time.perf_counter() - started) * 1000)
            assert held.status_code == 201, held.text
    waits = waits[1:]
    ordered = sorted(waits)
    figures = {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[math.ceil(0.99 * len(ordered)) - 1],
        "samples_ms": waits,
    }
    print(
        f"idle round trip ({IDLE_SAMPLES} holds, each after {IDLE_SILENCE_SECONDS:.0f} s of"
        f" silence): p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
        f" (target < 50 ms); samples {', '.join(f'{w:.0f}' for w in waits)} ms"
    )
    return figures


ROUNDS = 3


def _hot_drop(
    database_url: str,
    env: dict[str, str],
    visitors: list[str],
    name: str,
    duration: float,
    connections: int,
) -> Figures:
    """A hot drop on fresh slots, against a platform started with `env`; `name` makes the
    requests' Idempotency-Keys its own."""
    with Platform(env=dict(env), worker_processes=1, worker_threads=8) as platform:
        platform.start("web", "worker", "scheduler")
        slots = asyncio.run(_slots(database_url, 10, 1))
        expose(platform.base_url, database_url, slots, visitors)
        figures = drive(platform.base_url, "platform", slots, visitors, name, duration, connections)
        return figures.require_holds()


def _enforced_vs_not(
    database_url: str, env: dict[str, str], visitors: list[str], duration: float, connections: int
) -> dict:
    """The hot drop with exposure enforced and not, in turns, each on a platform of its own
    (one at a time: two would share the cores and Postgres's connections); the median of
    the rounds' ratios, since the machine's other load moves single runs."""
    loose = {**env, "EXPOSURE_ENFORCED": "false"}
    ratios, rounds = [], []
    for n in range(ROUNDS):
        on = _hot_drop(database_url, env, visitors, f"on{n}", duration, connections)
        off = _hot_drop(database_url, loose, visitors, f"off{n}", duration, connections)
        print(on.line(f"hot_drop enforced #{n + 1}"))
        print(off.line(f"hot_drop not enforced #{n + 1}"))
        ratios.append(on.requests_per_second / off.requests_per_second)
        rounds.append({"enforced": on.as_dict(), "not_enforced": off.as_dict()})
    median = statistics.median(ratios)
    print(
        f"  hot drop with exposure enforced: {median:.2f}x the requests/s without"
        f" (median of {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.9x)"
    )
    return {"rounds": rounds, "ratios": ratios, "median_ratio": median}


TARGETS = {"drop": 3.0, "crowd": 2.5, "slot": 2.0}


def _report(name: str, ours: Figures, theirs: Figures) -> None:
    print(ours.line(f"{name} platform"))
    print(theirs.line(f"{name} plain FOR UPDATE"))
    if name == "slot":
        ratio = ours.created_per_second / max(theirs.created_per_second, 1)
        what = "holds/s"
    else:
        ratio = ours.requests_per_second / theirs.requests_per_second
        what = "requests/s"
    print(f"  {name}: {ratio:.2f}x the plain server's {what} (target >= {TARGETS[name]}x)")
    print(f"  p99 {ours.p99_ms:.1f} ms (target < 150 ms); 5xx/other: {ours.server_errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    run(args.duration, args.connections, tuple(args.scenarios.split(",")))


if __name__ == "__main__":
    main()
