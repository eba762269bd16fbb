"""Arranging a bookable location through the admin API of a running platform.

Browser tests and the screenshot command need real slots: a location, weekly hours
and a generation job, exactly as an operator would create them.
"""

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import requests

from tests.support.api import token

JOB_TIMEOUT_SECONDS = 30


@dataclass
class Location:
    id: str
    timezone: str
    dates: list[dt.date]


@dataclass
class Catalog:
    base_url: str
    admin: str = field(default_factory=lambda: token(["admin"]))

    def post(self, path: str, body: dict, bearer: str | None = None) -> requests.Response:
        return requests.post(
            f"{self.base_url}{path}",
            json=body,
            headers={
                "Authorization": f"Bearer {bearer or self.admin}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            timeout=30,
        )

    def get(self, path: str, params: dict | None = None, bearer: str | None = None) -> dict:
        reply = requests.get(
            f"{self.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {bearer or self.admin}"},
            timeout=30,
        )
        reply.raise_for_status()
        return reply.json()

    def location(
        self,
        *,
        timezone: str = "Asia/Dubai",
        start: str = "09:00",
        end: str = "12:00",
        days: int = 2,
        name: str = "Harbour Clinic",
    ) -> Location:
        """A location open every day from tomorrow (its time) for `days` days, 30-minute slots."""
        created = self.post("/admin/v1/locations", {"name": name, "timezone": timezone})
        location_id = created.json()["location"]["id"]
        first = dt.datetime.now(ZoneInfo(timezone)).date() + dt.timedelta(days=1)
        last = first + dt.timedelta(days=days - 1)
        rule = {
            "location_id": location_id,
            "rule_kind": "WEEKLY",
            "days_of_week": [1, 2, 3, 4, 5, 6, 7],
            "start_time": start,
            "end_time": end,
            "slot_granularity_minutes": 30,
            "slot_duration_minutes": 30,
            "valid_from": first.isoformat(),
            "valid_to": last.isoformat(),
        }
        assert self.post("/admin/v1/availabilities", rule).status_code == 201
        job = self.post(
            "/admin/v1/slots/generate",
            {"location_id": location_id, "from": first.isoformat(), "to": last.isoformat()},
        ).json()["job"]
        self._wait_for(job["id"])
        return Location(location_id, timezone, [first + dt.timedelta(days=n) for n in range(days)])

    def _wait_for(self, job_id: str) -> None:
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            job = self.get(f"/admin/v1/jobs/{job_id}")["job"]
            if job["status"] == "succeeded":
                return
            assert job["status"] in ("queued", "running"), job
            time.sleep(0.05)
        raise TimeoutError(f"generation job {job_id} did not finish")

    def slots(self, location: Location, day: dt.date) -> list[dict]:
        """Every slot of the day with its usage, as front-desk staff see it."""
        params = {"location_id": location.id, "date": day.isoformat()}
        return self.get("/admin/v1/slots", params)["items"]

    def wait_until_taken(self, location: Location, day: dt.date, slot_id: str) -> None:
        """Until a new visitor's view of the day no longer offers the slot.

        Reads are cached by the web until Postgres announces the change; waiting for
        the announcement keeps tests from racing it.
        """
        visitor = token(["user"])
        params = {"location_id": location.id, "date": day.isoformat()}
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            free = self.get("/v1/slots", params, bearer=visitor)["total_available"]
            left = [s for s in self.slots(location, day) if s["id"] == slot_id]
            if left and left[0]["remaining"] == 0 and free == self._free(location, day):
                return
            time.sleep(0.05)
        raise TimeoutError(f"slot {slot_id} still offered")

    def _free(self, location: Location, day: dt.date) -> int:
        return sum(1 for s in self.slots(location, day) if s["remaining"] > 0)

    def bookings(self, location: Location) -> list[dict]:
        return self.get("/admin/v1/bookings", {"location_id": location.id})["items"]

    def hold(self, slot_id: str, phone: str = "+971509876543") -> requests.Response:
        """Someone else (front-desk staff booking a walk-in) holds the slot."""
        body = {"slot_id": slot_id, "customer": {"name": "Walk-in", "phone": phone}}
        return self.post("/v1/bookings", body, bearer=token(["frontdesk"]))
