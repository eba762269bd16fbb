"""A booking's request id reaches the worker's log lines, and no log line shows the customer."""

import asyncio
import io

import asyncpg
import dramatiq

from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose

PHONE, EMAIL = "+971501234567", "ann.customer@example.org"


async def test_full_booking_flow_logs_request_id_and_no_pii(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, log_lines: io.StringIO
) -> None:
    slot = await rows.slot(db, await rows.location(db))
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post(
        "/v1/bookings",
        token=visitor,
        json={"slot_id": str(slot), "customer": {"name": "Ann", "phone": PHONE, "email": EMAIL}},
        headers={"X-Request-Id": "trace-booking-1"},
    )
    assert held.status == 201
    booking = held.json["booking"]["id"]
    await api.post(f"/v1/bookings/{booking}/confirm", token=visitor)
    await api.post(f"/v1/bookings/{booking}/cancel", token=visitor)
    deadline = asyncio.get_running_loop().time() + 5
    while "lanes_batch_applied" not in log_lines.getvalue():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    lines = log_lines.getvalue().splitlines()
    worker_lines = [line for line in lines if "lanes_batch_applied" in line]
    assert '"request_ids": ["trace-booking-1"]' in worker_lines[0]
    text = log_lines.getvalue()
    assert PHONE not in text
    assert PHONE[1:] not in text
    assert EMAIL not in text
