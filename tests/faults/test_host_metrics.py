"""One scrape of the web shows the series every web and worker process of the host counted."""

import asyncio
import datetime as dt
import time
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import requests

from common.metrics import FUNNEL_STEPS
from tests.support import rows
from tests.support.api import token
from tests.support.metrics import sample
from tests.support.platform import Platform

DUBAI = ZoneInfo("Asia/Dubai")
DAY = dt.datetime.now(DUBAI).date() + dt.timedelta(days=5)
VISITORS = 2
EXPECTED = {
    'booking_funnel_total{step="exposed"}': VISITORS,
    'booking_funnel_total{step="held"}': VISITORS,
    'booking_funnel_total{step="confirmed"}': VISITORS,
    'booking_outcomes_total{outcome="held"}': VISITORS,
    'booking_outcomes_total{outcome="confirmed"}': VISITORS,
    "hold_to_confirm_ms_count": VISITORS,
}


async def _slot(database_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    db = await asyncpg.connect(database_url)
    try:
        location = await rows.location(db)
        at = dt.datetime.combine(DAY, dt.time(10), tzinfo=DUBAI)
        return location, await rows.slot(db, location, start=at, day=DAY, capacity=VISITORS)
    finally:
        await db.close()


def _scrape(platform: Platform) -> str:
    with requests.Session() as fresh_connection:  # the kernel picks a web process per connection
        response = fresh_connection.get(f"{platform.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


def _book(platform: Platform, location: uuid.UUID, slot: uuid.UUID, n: int) -> None:
    headers = {"Authorization": f"Bearer {token(['user'])}"}
    shown = requests.get(
        f"{platform.base_url}/v1/slots",
        params={"location_id": str(location), "date": str(DAY)},
        headers=headers,
        timeout=10,
    )
    assert [s["id"] for s in shown.json()["slots"]] == [str(slot)]
    hold = {"slot_id": str(slot), "customer": {"name": "Ann", "phone": f"+97150000000{n}"}}
    held = requests.post(
        f"{platform.base_url}/v1/bookings",
        json=hold,
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert held.status_code == 201, held.text
    confirmed = requests.post(
        f"{platform.base_url}/v1/bookings/{held.json()['booking']['id']}/confirm",
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert confirmed.status_code == 200, confirmed.text


def test_the_web_shows_the_worker_processes_series_summed(platform: Platform) -> None:
    platform.env["WEB_PROCESSES"] = "2"
    platform.worker_processes = 2
    location, slot = asyncio.run(_slot(platform.env["DATABASE_URL"]))
    platform.start()
    first = _scrape(platform)
    for step in FUNNEL_STEPS:
        assert sample(first, f'booking_funnel_total{{step="{step}"}}') == 0, step
    for n in range(VISITORS):
        _book(platform, location, slot, n)
    deadline = time.monotonic() + 30  # the scheduler sends the outbox relay every second
    while {s: sample(_scrape(platform), s) for s in EXPECTED} != EXPECTED:
        assert time.monotonic() < deadline, {s: sample(_scrape(platform), s) for s in EXPECTED}
        time.sleep(0.2)
    for _ in range(10):
        assert {s: sample(_scrape(platform), s) for s in EXPECTED} == EXPECTED
