"""Redis flushed and restarted mid-storm: no oversell, created bookings replay the same,
and the platform serves holds again within seconds, without a restart."""

import asyncio
import shutil
import subprocess
import tempfile
import time
import uuid

import aiohttp
import pytest

from db.invariants import violations
from tests.faults.storm import Storm, arrange_slots, booking_ids
from tests.support.api import token
from tests.support.platform import Platform, free_port

RECOVERY_SECONDS = 5


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="gs-fault-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for this test"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.folder,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def flush_and_stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "flushall"], capture_output=True)
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.process.kill()
        server.process.wait(timeout=10)


async def _hold_until_ok(base_url: str, slot: uuid.UUID, deadline: float) -> None:
    """Asks for a hold (a new walk-in each time) until one is answered 201."""
    async with aiohttp.ClientSession() as session:
        for attempt in range(10_000):
            phone = f"+97155{attempt:07d}"
            async with session.post(
                f"{base_url}/v1/bookings",
                json={"slot_id": str(slot), "customer": {"name": "Late", "phone": phone}},
                headers={
                    "Authorization": f"Bearer {token(['frontdesk'])}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            ) as response:
                assert response.status < 500 or response.status == 503, await response.text()
                if response.status == 201:
                    return
            assert time.monotonic() < deadline, "no hold succeeded after Redis came back"
            await asyncio.sleep(0.1)


async def test_redis_flushed_and_restarted_mid_storm(platform: Platform, own_redis: OwnRedis):
    platform.env["REDIS_URL"] = own_redis.url
    platform.env["BOOKING_WAIT_SECONDS"] = "1"
    slots = await arrange_slots(platform.env["DATABASE_URL"], count=10, capacity=5)
    spare = (await arrange_slots(platform.env["DATABASE_URL"], count=1, capacity=100))[0]
    platform.start()
    storm = Storm(platform.base_url)

    async def outage() -> None:
        while len(storm.statuses) < 80:
            await asyncio.sleep(0.01)
        own_redis.flush_and_stop()
        await asyncio.sleep(1)
        own_redis.start()

    await asyncio.gather(storm.run(slots, total=250), outage())
    back = time.monotonic()
    await _hold_until_ok(platform.base_url, spare, back + RECOVERY_SECONDS)

    assert all(status < 500 or status == 503 for status in storm.statuses), storm.statuses
    stored = await booking_ids(platform.env["DATABASE_URL"])
    assert set(storm.created) <= set(stored)
    assert await violations(platform.env["DATABASE_URL"]) == []

    # A request answered 201 replays its booking, though Redis forgot the key. One whose
    # command Redis lost with the flush (answered 202 or 503) was never applied: its replay
    # is a new request, which may hold a place if one is left.
    async with aiohttp.ClientSession() as session:
        for key, (visitor, body) in list(storm.requests.items()):
            async with session.post(
                f"{platform.base_url}/v1/bookings",
                json=body,
                headers={"Authorization": f"Bearer {visitor}", "Idempotency-Key": key},
            ) as replay:
                assert replay.status < 500, await replay.text()
                if key in storm.held_by_key:
                    assert replay.status == 201
                    assert (await replay.json())["booking"]["id"] == storm.held_by_key[key]
    assert await violations(platform.env["DATABASE_URL"]) == []
