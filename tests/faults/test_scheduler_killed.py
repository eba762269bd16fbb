"""A scheduler killed and restarted: holds still expire about when they should."""

import asyncio
import time

import asyncpg

from tests.faults.storm import Storm, arrange_slots
from tests.support.platform import Platform

HOLD_SECONDS = 2
INTERVAL_SECONDS = 1
TICK_ALLOWANCE_SECONDS = 2
"""Once it says it started, a new scheduler needs about this long to tick and the
worker to expire what it found."""


async def test_killed_scheduler_leaves_no_hold_past_its_deadline(platform: Platform) -> None:
    platform.env.update(
        HOLD_TTL_SECONDS=str(HOLD_SECONDS), EXPIRY_INTERVAL_SECONDS=str(INTERVAL_SECONDS)
    )
    slots = await arrange_slots(platform.env["DATABASE_URL"], count=5, capacity=4)
    platform.start()
    storm = Storm(platform.base_url)
    await storm.run(slots, total=20, concurrency=4)
    assert len(storm.created) == 20

    platform.kill("scheduler")
    await asyncio.sleep(INTERVAL_SECONDS)
    platform.restart("scheduler")
    started = await _restarted_at(platform)

    conn = await asyncpg.connect(platform.env["DATABASE_URL"])
    try:
        allowed = INTERVAL_SECONDS + TICK_ALLOWANCE_SECONDS
        deadline = time.monotonic() + HOLD_SECONDS + allowed + 10
        while await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'held'"):
            # A hold that lapsed while no scheduler ran is due from the restart on.
            overdue = await conn.fetchval(
                "SELECT count(*) FROM bookings WHERE status = 'held'"
                " AND greatest(hold_expires_at, to_timestamp($2))"
                " < now() - make_interval(secs => $1)",
                allowed,
                started,
            )
            assert overdue == 0, "a hold outlived its deadline by more than one interval"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        counters = await conn.fetchval("SELECT sum(hold) FROM slot_instances")
        assert counters == 0
    finally:
        await conn.close()


async def _restarted_at(platform: Platform) -> float:
    """The wall-clock time the restarted scheduler said it started (importing takes
    seconds on a busy machine). Its log file holds the killed process's lines too."""
    deadline = time.monotonic() + 30
    while platform.log("scheduler").count("scheduler_started") < 2:
        assert time.monotonic() < deadline, "the restarted scheduler never started"
        await asyncio.sleep(0.1)
    return time.time()
