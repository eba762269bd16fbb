"""Slot generation next to a raw COPY of the same rows, in one run.

    python -m bench.generation [--people 50] [--days 365]

50 people x 365 days x 09:00-17:00 every 15 minutes, Monday to Friday (31 slots of 30
minutes a working day, 404,550 slots; about 400,000 as the issue asks) through the real
reconciliation, then again (nothing to create), next to a raw `COPY` of the same rows
into a scratch table. Targets: first run at least 0.3x the COPY rate; the re-run at
least twice as fast as the first.
"""

import argparse
import asyncio
import datetime as dt
import time

import asyncpg

from bench.services import migrated
from common.ids import new_id
from db.engine import create_engine
from db.generation import reconcile

FIRST = dt.date(2031, 1, 6)


async def _arrange(url: str, people: int) -> object:
    conn = await asyncpg.connect(url)
    try:
        location = new_id()
        await conn.execute(
            "INSERT INTO locations (id, name, timezone) VALUES ($1, 'Bench', 'Asia/Dubai')",
            location,
        )
        for _ in range(people):
            person = new_id()
            await conn.execute(
                "INSERT INTO people (id, location_id, name) VALUES ($1, $2, 'P')", person, location
            )
            await conn.execute(
                "INSERT INTO availability_rules (id, location_id, person_id, rule_kind,"
                " days_of_week, start_minute, end_minute, slot_granularity_minutes,"
                " slot_duration_minutes) VALUES ($1, $2, $3, 'WEEKLY', '{1,2,3,4,5}', 540, 1020,"
                " 15, 30)",
                new_id(), location, person,
            )  # fmt: skip
        return location
    finally:
        await conn.close()


async def _generate(url: str, location: object, days: int) -> tuple[float, int]:
    engine = create_engine(url, pool_size=1)
    try:
        started = time.perf_counter()
        async with engine.begin() as conn:
            result = await reconcile(conn, location, None, FIRST, FIRST + dt.timedelta(days - 1))
        return time.perf_counter() - started, result.created + result.unchanged
    finally:
        await engine.dispose()


async def _copy(url: str) -> tuple[float, int]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE copy_target (LIKE slot_instances INCLUDING ALL)")
        rows = await conn.fetch(
            "SELECT id, location_id, person_id, date, start_at, end_at, capacity FROM"
            " slot_instances"
        )
        records = [(new_id(), *tuple(r)[1:]) for r in rows]
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "copy_target",
            records=records,
            columns=["id", "location_id", "person_id", "date", "start_at", "end_at", "capacity"],
        )
        return time.perf_counter() - started, len(records)
    finally:
        await conn.close()


def run(duration: float | None = None, people: int = 50, days: int = 365) -> dict:
    """A fixed amount of work, so `duration` (the runner's common argument) is not used."""
    with migrated() as services:
        location = asyncio.run(_arrange(services.database_url, people))
        first_seconds, slots = asyncio.run(_generate(services.database_url, location, days))
        again_seconds, _ = asyncio.run(_generate(services.database_url, location, days))
        copy_seconds, copied = asyncio.run(_copy(services.database_url))
    figures = {
        "slots": slots,
        "generation_per_second": slots / first_seconds,
        "rerun_per_second": slots / again_seconds,
        "copy_per_second": copied / copy_seconds,
    }
    figures["ratio_to_copy"] = figures["generation_per_second"] / figures["copy_per_second"]
    figures["rerun_speedup"] = first_seconds / again_seconds
    print(
        f"generation: {slots} slots in {first_seconds:.2f} s"
        f" ({figures['generation_per_second']:.0f}/s); re-run {again_seconds:.2f} s;"
        f" raw COPY {figures['copy_per_second']:.0f}/s"
    )
    print(
        f"  {figures['ratio_to_copy']:.2f}x the COPY rate (target >= 0.3x);"
        f" re-run {figures['rerun_speedup']:.2f}x faster (target >= 2x)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    run(people=args.people, days=args.days)


if __name__ == "__main__":
    main()
