"""The availability cache: shared misses, no storing across a change, nothing kept unheard."""

import asyncio
import datetime as dt

from web.availability_cache import CHANNEL, AvailabilityCache


class _OpenConnection:
    def is_closed(self) -> bool:
        return False


def _listening_cache() -> AvailabilityCache:
    cache = AvailabilityCache("postgresql://unused")
    cache._connection = _OpenConnection()  # stands in for the LISTEN connection
    return cache


def _later() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)


class _Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def compute(self) -> tuple[int, dt.datetime]:
        self.calls += 1
        await self.release.wait()
        return self.calls, _later()


async def test_concurrent_misses_share_one_computation() -> None:
    cache, counter = _listening_cache(), _Counter()
    waiting = [asyncio.create_task(cache.get("loc", "day", counter.compute)) for _ in range(10)]
    await asyncio.sleep(0)
    counter.release.set()
    assert await asyncio.gather(*waiting) == [1] * 10
    assert counter.calls == 1


async def test_entry_is_served_until_its_location_changes() -> None:
    cache, counter = _listening_cache(), _Counter()
    counter.release.set()
    assert await cache.get("loc", "day", counter.compute) == 1
    assert await cache.get("loc", "day", counter.compute) == 1
    cache._on_change(None, 0, CHANNEL, "other-loc")
    assert await cache.get("loc", "day", counter.compute) == 1
    cache._on_change(None, 0, CHANNEL, "loc")
    assert await cache.get("loc", "day", counter.compute) == 2


async def test_read_racing_a_change_is_not_stored() -> None:
    cache, counter = _listening_cache(), _Counter()
    first = asyncio.create_task(cache.get("loc", "day", counter.compute))
    await asyncio.sleep(0)
    cache._on_change(None, 0, CHANNEL, "loc")
    counter.release.set()
    assert await first == 1
    assert await cache.get("loc", "day", counter.compute) == 2


async def test_entry_expires_when_it_goes_stale_on_its_own() -> None:
    cache = _listening_cache()
    calls = 0

    async def compute() -> tuple[int, dt.datetime]:
        nonlocal calls
        calls += 1
        return calls, dt.datetime.now(dt.UTC)

    assert await cache.get("loc", "day", compute) == 1
    assert await cache.get("loc", "day", compute) == 2


async def test_nothing_is_kept_while_not_listening() -> None:
    cache, counter = AvailabilityCache("postgresql://unused"), _Counter()
    counter.release.set()
    assert await cache.get("loc", "day", counter.compute) == 1
    assert await cache.get("loc", "day", counter.compute) == 2


async def test_a_lost_listener_forgets_everything_and_reconnects() -> None:
    cache, counter = _listening_cache(), _Counter()
    counter.release.set()
    assert await cache.get("loc", "day", counter.compute) == 1
    cache._on_lost(None)
    assert not cache.listening
    assert cache._reconnect is not None
    await cache.stop()
    assert await cache.get("loc", "day", counter.compute) == 2


async def test_forgetting_a_location_drops_it_and_a_read_racing_it() -> None:
    cache, counter = _listening_cache(), _Counter()
    counter.release.set()
    assert await cache.get("loc", "day", counter.compute) == 1
    cache.forget("loc")
    assert await cache.get("loc", "day", counter.compute) == 2
    racing, slow = _listening_cache(), _Counter()
    first = asyncio.create_task(racing.get("loc", "day", slow.compute))
    await asyncio.sleep(0)
    racing.forget("loc")
    slow.release.set()
    assert await first == 1
    assert await racing.get("loc", "day", slow.compute) == 2
