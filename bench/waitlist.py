"""A waitlist drain: 10,000 waiting entries, 100 slots of 100 places freed at once.

    python -m bench.waitlist [--entries 10000]

Every place is held by a hold that has lapsed; one run of the expiry job releases them
all and, in the same transaction, offers each freed place to the first waiting entry
it suits (`db/waitlist.py`). Reports offers/s and the time until every freed place is
offered (target: under 5 s), then checks that every place went to the waitlist, each
entry at most once, in arrival order, and the invariant checker.
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


async def _arrange(url: str, entries: int) -> None:
    """100 slots of `entries / 100` places, all held by lapsed holds, and `entries` waiting."""
    conn = await asyncpg.connect(url)
    try:
        location = new_id()
        start = dt.datetime.now(dt.UTC).replace(hour=6, minute=0, second=0, microsecond=0)
        start += dt.timedelta(days=2)
        await conn.execute(
            "INSERT INTO locations (id, name, timezone) VALUES ($1, 'Bench', 'UTC')", location
        )
        slots = [new_id() for _ in range(SLOTS)]
        per_slot = entries // SLOTS
        await conn.executemany(
            "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity, hold,"
            " status) VALUES ($1, $2, $3, $4, $5, $6, $6, 'full')",
            [
                (s, location, start.date(), start + dt.timedelta(minutes=5 * i),
                 start + dt.timedelta(minutes=5 * i + 30), per_slot)
                for i, s in enumerate(slots)
            ],
        )  # fmt: skip
        lapsed = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await conn.copy_records_to_table(
            "bookings",
            records=[
                (new_id(), slots[n % SLOTS], location, "bench", "x", "x", f"h{n}", "held", lapsed)
                for n in range(per_slot * SLOTS)
            ],
            columns=["id", "slot_id", "location_id", "user_id", "customer_name",
                     "customer_phone", "phone_hash", "status", "hold_expires_at"],
        )  # fmt: skip
        day_start = start.replace(hour=0)
        await conn.copy_records_to_table(
            "waitlist_entries",
            records=[
                (new_id(), location, start.date(), day_start, day_start + dt.timedelta(days=1),
                 f"visitor-{n}", "Waiting", "k1:x", f"w{n}", "k1:x", f"token-{n}")
                for n in range(entries)
            ],
            columns=["id", "location_id", "date", "window_start", "window_end", "user_id",
                     "customer_name", "customer_phone", "phone_hash", "manage_token",
                     "manage_token_hash"],
        )  # fmt: skip
    finally:
        await conn.close()


async def _drain(url: str) -> tuple[float, int]:
    engine = create_engine(url, pool_size=1)
    try:
        started = time.perf_counter()
        async with engine.begin() as conn:
            expired = await expire_overdue(conn, "bench-waitlist", 600)
        return time.perf_counter() - started, expired.holds
    finally:
        await engine.dispose()


async def _outcome(url: str) -> tuple[int, bool]:
    """How many entries were offered, and whether they were the first ones to arrive."""
    conn = await asyncpg.connect(url)
    try:
        statuses = [r["status"] for r in await conn.fetch(
            "SELECT status FROM waitlist_entries ORDER BY seq"
        )]  # fmt: skip
    finally:
        await conn.close()
    offered = statuses.count("offered")
    return offered, statuses[:offered] == ["offered"] * offered


def run(duration: float | None = None, entries: int = 10_000) -> dict:
    """A fixed amount of work, so `duration` (the runner's common argument) is not used."""
    with migrated() as services:
        asyncio.run(_arrange(services.database_url, entries))
        seconds, freed = asyncio.run(_drain(services.database_url))
        offered, in_order = asyncio.run(_outcome(services.database_url))
        broken = asyncio.run(violations(services.database_url))
    print(
        f"waitlist drain: {freed} places freed at once, {offered} offered in {seconds:.2f} s"
        f" ({offered / seconds:.0f} offers/s; target: every place offered in under 5 s);"
        f" first come first served: {in_order}; invariant violations {len(broken)}"
    )
    return {
        "freed": freed,
        "offered": offered,
        "seconds": seconds,
        "offers_per_second": offered / seconds,
        "in_arrival_order": in_order,
        "violations": len(broken),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    run(entries=parser.parse_args().entries)


if __name__ == "__main__":
    main()
