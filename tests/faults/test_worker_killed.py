"""`kill -9` of the worker during a hold storm loses and duplicates nothing."""

import asyncio
import time
from collections.abc import Callable

from db.invariants import violations
from tests.faults.storm import Storm, arrange_slots, booking_ids
from tests.support.platform import Platform

SLOTS = 20
CAPACITY = 10
"""200 places for 300 requests: capacity is left when the worker dies (the web refuses a
full slot by itself, so a storm that filled everything first would not need the worker)."""


async def test_worker_killed_mid_storm_loses_and_duplicates_nothing(
    platform: Platform, record_property: Callable[[str, object], None]
) -> None:
    platform.env["BOOKING_WAIT_SECONDS"] = "1"
    slots = await arrange_slots(platform.env["DATABASE_URL"], count=SLOTS, capacity=CAPACITY)
    platform.start()
    storm = Storm(platform.base_url)

    killed_at = []

    async def kill_then_restart() -> None:
        while len(storm.statuses) < 60:
            await asyncio.sleep(0.01)
        platform.kill("worker")
        killed_at.append(time.monotonic())
        await asyncio.sleep(1.5)
        platform.restart("worker")

    started = time.monotonic()
    await asyncio.gather(storm.run(slots, total=300), kill_then_restart())
    final = await storm.settle(deadline_seconds=45)
    # Reported, not asserted (timings swing with the machine): the target is under 10 s.
    to_final = time.monotonic() - killed_at[0]
    record_property("seconds_from_kill_until_every_accepted_hold_was_final", round(to_final, 2))
    print(f"every accepted hold was final {to_final:.1f} s after the kill (restart after 1.5 s)")

    assert -1 not in storm.statuses, "the web dropped a connection"
    assert all(status < 500 for status in storm.statuses), storm.statuses
    assert storm.pending, "the kill never caught a command in flight; the test proved nothing"
    stored = await booking_ids(platform.env["DATABASE_URL"])
    assert len(stored) == len(set(stored))
    assert set(storm.created) <= set(stored)
    held_after_202 = {b for b, status in final.items() if status == "held"}
    assert set(stored) == set(storm.created) | held_after_202
    assert len(stored) <= SLOTS * CAPACITY
    assert await violations(platform.env["DATABASE_URL"]) == []
    assert time.monotonic() - started < 90
