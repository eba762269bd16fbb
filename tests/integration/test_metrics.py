"""`/metrics` counts what the workers did, and the booking funnel step by step."""

import datetime as dt
import subprocess
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import dramatiq
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from actors import events
from common.metrics import FOLDER, FUNNEL_STEPS
from tests.support import rows
from tests.support.api import Api, token
from tests.support.metrics import sample

DUBAI = ZoneInfo("Asia/Dubai")
DAY = dt.datetime.now(DUBAI).date() + dt.timedelta(days=5)
WORKER_SERIES = (
    'booking_funnel_total{step="exposed"}',
    'booking_funnel_total{step="held"}',
    'booking_funnel_total{step="confirmed"}',
    'booking_outcomes_total{outcome="held"}',
    'booking_outcomes_total{outcome="confirmed"}',
    "hold_to_confirm_ms_count",
)


async def _scrape(api: Api) -> str:
    response = await api.client.get("/metrics")
    assert response.status == 200
    return await response.text()


def _values(scrape: str) -> dict[str, float]:
    return {series: sample(scrape, series) or 0.0 for series in WORKER_SERIES}


async def test_every_funnel_step_is_exported(api: Api) -> None:
    scrape = await _scrape(api)
    for step in FUNNEL_STEPS:
        assert sample(scrape, f'booking_funnel_total{{step="{step}"}}') is not None, step


async def test_a_hold_and_its_confirmation_show_on_metrics(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db)
    at = dt.datetime.combine(DAY, dt.time(10), tzinfo=DUBAI)
    slot = await rows.slot(db, location, start=at, day=DAY)
    visitor = token(["user"])
    before = _values(await _scrape(api))
    shown = await api.get(
        "/v1/slots", token=visitor, params={"location_id": str(location), "date": str(DAY)}
    )
    assert [s["id"] for s in shown.json["slots"]] == [str(slot)]
    customer = {"name": "Ann", "phone": "+971501234567"}
    held = await api.post(
        "/v1/bookings", token=visitor, json={"slot_id": str(slot), "customer": customer}
    )
    assert held.status == 201, held.json
    confirmed = await api.post(f"/v1/bookings/{held.json['booking']['id']}/confirm", token=visitor)
    assert confirmed.status == 200, confirmed.json
    await events.publish_pending()  # the relay counts the committed steps
    after = _values(await _scrape(api))
    assert {series: after[series] - before[series] for series in WORKER_SERIES} == dict.fromkeys(
        WORKER_SERIES, 1.0
    )


async def test_a_killed_process_leaves_no_live_gauge_behind(api: Api) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = FOLDER / f"gauge_livesum_{gone.pid}.db"
    left = MmapedDict(str(path))
    name = f"in_progress_{uuid.uuid4().hex}"
    left.write_value(mmap_key(name, name, [], [], "work in progress"), 3.0, 0.0)
    left.close()
    assert name not in await _scrape(api)
    assert not path.exists()
