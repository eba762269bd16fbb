"""Arranging and watching the catalog through the admin API, for lifecycle tests.

Everything goes through HTTP as an operator would do it: a location with hours for
the next days, people, generation jobs awaited to their end, holds as walk-ins.
"""

import asyncio
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tests.support.api import Api, token

ADMIN = token(["admin"])
DESK = token(["frontdesk"], subject="desk-1")
JOB_SECONDS = 30


@dataclass
class Place:
    location_id: str
    person_id: str | None
    days: list[dt.date]


async def created(api: Api, path: str, body: dict, bearer: str = ADMIN) -> dict:
    response = await api.post(path, token=bearer, json=body)
    assert response.status in (201, 202), response.json
    return response.json


async def finished(api: Api, job_id: str, bearer: str = ADMIN) -> dict:
    """The job's result once it succeeded."""
    deadline = asyncio.get_running_loop().time() + JOB_SECONDS
    while True:
        job = (await api.get(f"/admin/v1/jobs/{job_id}", token=bearer)).json["job"]
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job
            return job["result"]
        assert asyncio.get_running_loop().time() < deadline, "the job never finished"
        await asyncio.sleep(0.05)


def weekly(location_id: str, person_id: str | None = None, **extra: object) -> dict:
    """Every day 09:00-12:00, 30-minute slots."""
    return {
        "location_id": location_id,
        **({"person_id": person_id} if person_id else {}),
        "rule_kind": "WEEKLY",
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "start_time": "09:00",
        "end_time": "12:00",
        "slot_granularity_minutes": 30,
        "slot_duration_minutes": 30,
        **extra,
    }


async def place(
    api: Api, *, person: bool = True, days: int = 2, timezone: str = "Asia/Dubai"
) -> Place:
    """A location (and a person there) open every day from tomorrow for `days` days, when
    its hours end, and generated."""
    location = (
        await created(api, "/admin/v1/locations", {"name": "Clinic", "timezone": timezone})
    )["location"]["id"]
    person_id = None
    if person:
        body = {"location_id": location, "name": "Dr Who"}
        person_id = (await created(api, "/admin/v1/people", body))["person"]["id"]
    first = dt.datetime.now(ZoneInfo(timezone)).date() + dt.timedelta(days=1)
    dates = [first + dt.timedelta(days=n) for n in range(days)]
    hours = weekly(location, person_id, valid_from=str(dates[0]), valid_to=str(dates[-1]))
    await created(api, "/admin/v1/availabilities", hours)
    await generate(api, location, dates[0], dates[-1])
    return Place(location, person_id, dates)


async def generate(api: Api, location_id: str, first: dt.date, last: dt.date) -> dict:
    body = {"location_id": location_id, "from": str(first), "to": str(last)}
    job = (await created(api, "/admin/v1/slots/generate", body))["job"]
    return await finished(api, job["id"])


async def slots(api: Api, location_id: str, day: dt.date, bearer: str = ADMIN) -> list[dict]:
    params = {"location_id": location_id, "date": str(day)}
    response = await api.get("/admin/v1/slots", token=bearer, params=params)
    assert response.status == 200, response.json
    return response.json["items"]


async def hold(api: Api, slot_id: str, phone: str, bearer: str = DESK) -> dict:
    body = {"slot_id": slot_id, "customer": {"name": "Walk-in", "phone": phone}}
    response = await api.post("/v1/bookings", token=bearer, json=body)
    assert response.status == 201, response.json
    return response.json["booking"]


async def exposed(api: Api, location_id: str, day: dt.date, person_id: str | None = None) -> dict:
    """What a new visitor is offered that day."""
    params = {"location_id": location_id, "date": str(day)}
    if person_id:
        params["person_id"] = person_id
    response = await api.get("/v1/slots", token=token(["user"]), params=params)
    assert response.status == 200, response.json
    return response.json
