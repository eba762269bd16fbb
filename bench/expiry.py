"""Expiring 10,000 overdue holds in one pass of the expiry job. Target: under 1 s.

python -m bench.expiry [--holds 10000]
"""

import argparse
import asyncio
import datetime as dt
import time

import asyncpg

from bench.services import migrated
from common.ids import new_id
from db.engine import create_engine
from db.expiry import expire_overdue
from db.invariants import violations

SLOTS = 100


async def _arrange(url: str, holds: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        location = new_id()
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        await conn.execute("INSERT INTO locations (id, name) VALUES ($1, 'Bench')", location)
        slots = [new_id() for _ in range(SLOTS)]
        per_slot = holds // SLOTS
        await conn.executemany(
            "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity, hold,"
            " status) VALUES ($1, $2, $3, $4, $5, $6, $6, 'full')",
            [
                (s, location, start.date(), start + dt.timedelta(hours=i),
                 start + dt.timedelta(hours=i, minutes=30), per_slot)
                for i, s in enumerate(slots)
            ],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "bookings",
            records=[
                (new_id(), slots[n % SLOTS], location, "bench", "x", "x", f"h{n}", "held",
                 dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
                for n in range(per_slot * SLOTS)
            ],
            columns=["id", "slot_id", "location_id", "user_id", "customer_name",
                     "customer_phone", "phone_hash", "status", "hold_expires_at"],
        )  # fmt: skip
    finally:
        await conn.close()


async def _expire(url: str) -> tuple[float, int]:
    engine = create_engine(url, pool_size=1)
    try:
        started = time.perf_counter()
        async with engine.begin() as conn:
            expired = await expire_overdue(conn, "bench-expiry", 600)
        return time.perf_counter() - started, expired.holds
    finally:
        await engine.dispose()


def run(duration: float | None = None, holds: int = 10_000) -> dict:
    """A fixed amount of work, so `duration` (the runner's common argument) is not used."""
    with migrated() as services:
        asyncio.run(_arrange(services.database_url, holds))
        seconds, expired = asyncio.run(_expire(services.database_url))
        broken = asyncio.run(violations(services.database_url))
    print(
        f"expiry: {expired} overdue holds expired in {seconds * 1000:.0f} ms (target < 1000 ms);"
        f" invariant violations {len(broken)}"
    )
    return {"expired": expired, "seconds": seconds, "violations": len(broken)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=10_000)
    run(holds=parser.parse_args().holds)


if __name__ == "__main__":
    main()
