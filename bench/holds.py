"""Holds over HTTP: the platform next to a plain `SELECT … FOR UPDATE` server, in one run.

    python -m bench.holds [--duration 10] [--connections 64]

Two scenarios, each against both servers on the same kind of data:
(a) hot drop: 10 slots of capacity 1 raced, nearly every request refused;
(b) hot slot: one slot of large capacity, every request a real hold.
Targets: (a) at least 2x the plain server's requests/s, (b) at least 1x its holds/s,
p99 under 150 ms, no 5xx, no oversell (the invariant checker). The load generator
(wrk) shares the machine's two cores with the servers.

Visitors may hold only what `GET /v1/slots` showed them (contract §10): before each
scenario every visitor token asks for the days of its slots, under an exposure variant
that shows them all, so every hold is of an offered slot. (c) The hot drop runs in turns
on a platform enforcing exposure and on one with `EXPOSURE_ENFORCED=false`: enforcement on
within 10% of off's requests/s (the median of three rounds). The hot slot's visitors may
hold without limit (`MAX_LIVE_HOLDS`), or its 64 tokens would stop at 128 holds.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import uuid

import asyncpg
import requests

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
        plain_url = f"http://127.0.0.1:{plain_port}"
        with Platform(env=dict(env), worker_processes=1, worker_threads=8) as platform:
            platform.start("web", "worker", "scheduler")
            for name, count, capacity in (("hot_drop", 10, 1), ("hot_slot", 1, 30000)):
                ours = asyncio.run(_slots(services.database_url, count, capacity))
                theirs = asyncio.run(_slots(services.database_url, count, capacity))
                expose(platform.base_url, services.database_url, ours, visitors)
                baseline = drive(plain_url, "plain", theirs, [], name, duration, connections)
                measured = drive(
                    platform.base_url, "platform", ours, visitors, name, duration, connections
                )
                results[name] = {"platform": measured.as_dict(), "plain": baseline.as_dict()}
                _report(name, measured, baseline)
        results["exposure_enforced"] = _enforced_vs_not(
            services.database_url, env, visitors, duration, connections
        )
        broken = asyncio.run(violations(services.database_url))
        results["violations"] = len(broken)
        print(f"invariant violations (oversell or counter drift): {len(broken)}")
        return results
    finally:
        if plain is not None:
            plain.terminate()
            plain.wait(10)
        services.stop()


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
        return drive(platform.base_url, "platform", slots, visitors, name, duration, connections)


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
