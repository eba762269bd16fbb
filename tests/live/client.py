"""A client of a running platform for the lifecycle tests: JSON, keys and tokens in one call."""

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from common.ids import new_id
from tests.support.api import token


@dataclass
class Reply:
    status: int
    json: Any
    headers: dict[str, str]


@dataclass
class Client:
    base_url: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        body: Any = None,
        key: bool = True,
        request_id: str | None = None,
    ) -> Reply:
        headers = {}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if method == "POST" and key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        if request_id:
            headers["X-Request-Id"] = request_id
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
            session.request(method, self.base_url + path, json=body, headers=headers) as response,
        ):
            return Reply(
                response.status, await response.json(content_type=None), dict(response.headers)
            )

    async def hold(self, slot: uuid.UUID, phone: str = "+971501234567") -> dict:
        """A walk-in held by front-desk staff (any open slot, exposed or not)."""
        body = {"slot_id": str(slot), "customer": {"name": "Ann", "phone": phone}}
        held = await self.call("POST", "/v1/bookings", bearer=token(["frontdesk"]), body=body)
        assert held.status == 201, held.json
        return held.json["booking"]


async def arrange_slots(
    database_url: str, starts: list[dt.datetime], timezone: str = "Asia/Dubai"
) -> list[uuid.UUID]:
    """Slots of one location (no person), starting at `starts`, 10 minutes each."""
    conn = await asyncpg.connect(database_url)
    try:
        location = new_id()
        await conn.execute(
            "INSERT INTO locations (id, name, timezone) VALUES ($1, 'Harbour Clinic', $2)",
            location,
            timezone,
        )
        slots = [new_id() for _ in starts]
        await conn.executemany(
            "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity)"
            " VALUES ($1, $2, $3, $4, $5, 1)",
            [
                (s, location, start.date(), start, start + dt.timedelta(minutes=10))
                for s, start in zip(slots, starts, strict=True)
            ],
        )
        return slots
    finally:
        await conn.close()


DAYS_AHEAD = 3
"""Past today, which the scheduler's rolling generation owns (it blocks slots no rule made)."""


def starts(*minutes: int) -> list[dt.datetime]:
    """Instants `DAYS_AHEAD` days from now, plus `minutes` each."""
    then = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=DAYS_AHEAD)
    return [then + dt.timedelta(minutes=m) for m in minutes]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        await asyncio.sleep(0.1)
