"""A change that reaches the workers before its hold is applied after it, and a replay of
the change returns its outcome, never the 202 the web gave while the worker was paused."""

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import asyncpg
import pytest

from db.invariants import violations
from domain.timezones import zone
from tests.faults.storm import arrange_slots
from tests.support.api import token
from tests.support.platform import Platform

PHONE = "+971501234567"


@contextmanager
def paused(platform: Platform) -> Iterator[None]:
    """SIGSTOP to the worker and the processes it forked, SIGCONT when done."""
    group = platform.processes["worker"].pid
    os.killpg(group, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(group, signal.SIGCONT)


class Client:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url

    async def send(
        self, method: str, path: str, bearer: str, body: Any = None, key: str | None = None
    ) -> tuple[int, dict, dict]:
        headers = {"Authorization": f"Bearer {bearer}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        async with self._session.request(
            method, self._base_url + path, json=body, headers=headers
        ) as response:
            return response.status, await response.json(), dict(response.headers)


CHANGES = {
    "confirm": ("POST", "/confirm", "confirmed"),
    "cancel": ("POST", "/cancel", "cancelled"),
    "reschedule": ("PATCH", "", "held"),
}


async def _expose(client: Client, database_url: str, visitor: str, slot: uuid.UUID) -> None:
    """The visitor is shown the slot (`GET /v1/slots`), so that it may hold it."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT s.location_id, s.start_at, l.timezone FROM slot_instances s"
            " JOIN locations l ON l.id = s.location_id WHERE s.id = $1",
            slot,
        )
    finally:
        await conn.close()
    day = row["start_at"].astimezone(zone(row["timezone"])).date()
    path = f"/v1/slots?location_id={row['location_id']}&date={day}"
    status, body, _ = await client.send("GET", path, visitor)
    assert status == 200, body
    assert str(slot) in [s["id"] for s in body["slots"]], body


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_sent_before_its_hold_was_applied_is_applied_after_it(
    platform: Platform, change: str
) -> None:
    platform.env["BOOKING_WAIT_SECONDS"] = "1"
    source, target = await arrange_slots(platform.env["DATABASE_URL"], count=2, capacity=1)
    platform.start()
    visitor, staff = token(["user"]), token(["frontdesk"])
    method, suffix, final_status = CHANGES[change]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        client = Client(session, platform.base_url)
        await _expose(client, platform.env["DATABASE_URL"], visitor, source)
        with paused(platform):
            hold = {"slot_id": str(source), "customer": {"name": "Ann", "phone": PHONE}}
            status, body, _ = await client.send("POST", "/v1/bookings", visitor, hold, "hold")
            assert status == 202, body
            booking = body["booking"]["id"]
            if change == "reschedule":
                path, bearer = f"/admin/v1/bookings/{booking}", staff
                request = {"action": "reschedule", "slot_id": str(target)}
            else:
                path, bearer, request = f"/v1/bookings/{booking}{suffix}", visitor, None
            status, body, _ = await client.send(method, path, bearer, request, "change")
            assert status == 202, body

        expected_slot = target if change == "reschedule" else source
        wanted = (final_status, str(expected_slot))
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            status, body, _ = await client.send("GET", f"/v1/bookings/{booking}", visitor)
            found = body.get("booking", {})
            if (found.get("status"), found.get("slot_id")) == wanted:
                break
            assert asyncio.get_running_loop().time() < deadline, f"stuck at {status} {body}"
            await asyncio.sleep(0.1)

        status, replayed, headers = await client.send(method, path, bearer, request, "change")
    assert status == 200, replayed
    assert headers["Idempotent-Replayed"] == "true"
    assert (replayed["booking"]["status"], replayed["booking"]["slot_id"]) == wanted
    conn = await asyncpg.connect(platform.env["DATABASE_URL"])
    try:
        row = await conn.fetchrow(
            "SELECT status, slot_id FROM bookings WHERE id = $1", uuid.UUID(booking)
        )
    finally:
        await conn.close()
    assert (row["status"], row["slot_id"]) == (final_status, expected_slot)
    assert await violations(platform.env["DATABASE_URL"]) == []
