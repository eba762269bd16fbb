"""Claiming 100,000 due reminders, set-based. Target: seconds, not one query each.

    python -m bench.reminders [--reminders 100000]

Each claim deletes up to `db.reminders.CLAIM_BATCH` due reminders with one statement
and writes their `booking.reminder` events with one more, in one transaction.
"""

import argparse
import asyncio
import time

import asyncpg

from bench.services import migrated
from db import reminders
from db.engine import create_engine
from tests.support import rows

OFFSETS = (86400, 7200)


async def _arrange(url: str, count: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await rows.due_reminders(conn, count // len(OFFSETS), OFFSETS)
    finally:
        await conn.close()


async def _claim_all(url: str) -> tuple[float, int, int]:
    """(seconds, reminders claimed, events written)."""
    engine = create_engine(url, pool_size=1)
    claimed = written = 0
    try:
        started = time.perf_counter()
        while True:
            async with engine.begin() as conn:
                batch, events = await reminders.claim_due(conn)
            claimed, written = claimed + batch, written + events
            if batch < reminders.CLAIM_BATCH:
                return time.perf_counter() - started, claimed, written
    finally:
        await engine.dispose()


async def _events(url: str) -> tuple[int, int]:
    """(reminder events, distinct booking and offset pairs among them)."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS events,"
            " count(DISTINCT (aggregate_id, payload->>'offset_seconds')) AS pairs"
            " FROM outbox WHERE event_type = 'booking.reminder'"
        )
        return row["events"], row["pairs"]
    finally:
        await conn.close()


def run(duration: float | None = None, count: int = 100_000) -> dict:
    """A fixed amount of work, so `duration` (the runner's common argument) is not used."""
    with migrated() as services:
        asyncio.run(_arrange(services.database_url, count))
        seconds, claimed, written = asyncio.run(_claim_all(services.database_url))
        events, pairs = asyncio.run(_events(services.database_url))
    print(
        f"reminders: {claimed} due reminders claimed and {written} events written in"
        f" {seconds:.2f} s ({claimed / seconds:,.0f}/s; target: seconds);"
        f" {events} events for {pairs} distinct (booking, offset) pairs"
    )
    return {
        "claimed": claimed,
        "seconds": seconds,
        "per_second": claimed / seconds,
        "duplicates": events - pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    args = parser.parse_args()
    run(count=args.reminders)


if __name__ == "__main__":
    main()
