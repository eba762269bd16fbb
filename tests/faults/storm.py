"""A hold storm against a running platform, and the checks every fault test makes after it."""

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field

import aiohttp
import asyncpg

from common.ids import new_id
from tests.support.api import token

SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)


async def arrange_slots(database_url: str, count: int, capacity: int) -> list[uuid.UUID]:
    conn = await asyncpg.connect(database_url)
    try:
        location = new_id()
        await conn.execute("INSERT INTO locations (id, name) VALUES ($1, 'Storm')", location)
        slots = [new_id() for _ in range(count)]
        await conn.executemany(
            "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (
                    slot,
                    location,
                    SOON.date(),
                    SOON + dt.timedelta(hours=i),
                    SOON + dt.timedelta(hours=i, minutes=30),
                    capacity,
                )
                for i, slot in enumerate(slots)
            ],
        )
        return slots
    finally:
        await conn.close()


@dataclass
class Storm:
    """What clients were told; `keys` lets a test replay any request."""

    base_url: str
    statuses: list[int] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    requests: dict[str, tuple[str, dict]] = field(default_factory=dict)
    held_by_key: dict[str, str] = field(default_factory=dict)
    """Idempotency-Key -> the booking its request was answered 201 with."""

    async def hold(self, session: aiohttp.ClientSession, slot: uuid.UUID, n: int) -> None:
        """Front-desk staff hold walk-ins: any open slot, with no exposure to follow first
        (the faults are what these tests are about)."""
        visitor, key = token(["frontdesk"]), str(uuid.uuid4())
        body = {
            "slot_id": str(slot),
            "customer": {"name": f"Guest {n}", "phone": f"+97150{n:07d}"},
        }
        self.requests[key] = (visitor, body)
        try:
            async with session.post(
                f"{self.base_url}/v1/bookings",
                json=body,
                headers={"Authorization": f"Bearer {visitor}", "Idempotency-Key": key},
            ) as response:
                self.statuses.append(response.status)
                if response.status in (201, 202):
                    booking = (await response.json())["booking"]["id"]
                    target = self.created if response.status == 201 else self.pending
                    target[booking] = visitor
                    if response.status == 201:
                        self.held_by_key[key] = booking
        except aiohttp.ClientError:
            self.statuses.append(-1)

    async def run(self, slots: list[uuid.UUID], total: int, concurrency: int = 16) -> None:
        queue = list(range(total))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def client() -> None:
                while queue:
                    n = queue.pop()
                    await self.hold(session, slots[n % len(slots)], n)

            await asyncio.gather(*[client() for _ in range(concurrency)])

    async def settle(self, deadline_seconds: float) -> dict[str, str]:
        """Polls every 202 until it is final; returns booking id -> final status."""
        final: dict[str, str] = {}
        deadline = asyncio.get_running_loop().time() + deadline_seconds
        async with aiohttp.ClientSession() as session:
            while len(final) < len(self.pending):
                for booking, visitor in self.pending.items():
                    if booking in final:
                        continue
                    async with session.get(
                        f"{self.base_url}/v1/bookings/{booking}",
                        headers={"Authorization": f"Bearer {visitor}"},
                    ) as response:
                        body = await response.json()
                        if response.status == 200 and body["booking"]["status"] != "pending":
                            final[booking] = body["booking"]["status"]
                        elif response.status == 409:
                            final[booking] = body["error"]["code"]
                assert asyncio.get_running_loop().time() < deadline, (
                    f"{len(self.pending) - len(final)} accepted holds never reached a final state"
                )
                await asyncio.sleep(0.2)
        return final


async def booking_ids(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [str(r["id"]) for r in await conn.fetch("SELECT id FROM bookings")]
    finally:
        await conn.close()
