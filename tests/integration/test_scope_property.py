"""Property: for random scopes and objects, no endpoint leaks or changes an object outside
the caller's scope.

Three locations are arranged once. Each example draws a scope (any subset of them), a
target location and an operation on one of its objects (or a query naming it), every
admin endpoint among them. A list must show only objects in scope; a request that
touches a location outside the scope must answer 404 (403 for what only an unscoped
caller may do: add a location, anything about webhooks) and leave every row of that
location as it was. Requests inside the scope may do what they do; their jobs are
awaited, so the next example starts settled.
"""

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api import token
from web.app import ROUTES

ADMIN = token(["admin"])
EXAMPLES = 80
JOB_SECONDS = 30
_numbers = count(1)


@dataclass
class Target:
    location_id: str
    person_id: str
    rule_id: str | None
    booking_id: str | None
    slot_id: str
    job_id: str
    staff_id: str
    day: dt.date


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str] | None = None
    body: Any = None
    touches: list[str] = field(default_factory=list)
    """The locations whose objects the request names, or that it queries."""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    build: Callable[[Target, Target], Request]
    listed: str | None = None
    """For a list: the item field naming its location ('location_ids' for staff)."""


def _unique_phone() -> str:
    return f"+9715{next(_numbers):08d}"


def _on(t: Target, method: str, path: str, params: dict | None = None, body: Any = None):
    """A request naming the target's location (in its path, query or body)."""
    return Request(method, path, params, body, [t.location_id])


def _listing(path: str, field_name: str) -> Operation:
    """A list without a location filter: it must show only what the scope sees."""
    return Operation("GET", path, lambda t, o: Request("GET", path), field_name)


def _filtered(path: str) -> Operation:
    """A list naming the target's location (and its day, which only slots take)."""

    def build(t: Target, o: Target) -> Request:
        day = {"date": str(t.day)} if path.endswith(("/slots", "/waitlist")) else {}
        return _on(t, "GET", path, {"location_id": t.location_id, **day})

    return Operation("GET", path, build, "location_id")


def _exception(t: Target, o: Target) -> Request:
    rule = {
        "location_id": t.location_id,
        "rule_kind": "EXCEPTION",
        "start_time": "13:00",
        "end_time": "14:00",
        "valid_from": str(t.day),
        "valid_to": str(t.day),
        "is_closed": True,
    }
    return _on(t, "POST", "/admin/v1/availabilities", body=rule)


def _reschedule(t: Target, o: Target) -> Request:
    body = {"action": "reschedule", "slot_id": o.slot_id}
    request = _on(t, "PATCH", f"/admin/v1/bookings/{t.booking_id}", body=body)
    request.touches.append(o.location_id)
    return request


def _walk_in(t: Target, o: Target) -> Request:
    customer = {"name": "Walk-in", "phone": _unique_phone()}
    return _on(t, "POST", "/v1/bookings", body={"slot_id": t.slot_id, "customer": customer})


def _new_staff(t: Target, o: Target) -> Request:
    body = {
        "email": f"s{next(_numbers)}@example.org",
        "password": "correct horse battery",
        "roles": ["frontdesk"],
        "location_ids": [t.location_id],
    }
    return _on(t, "POST", "/admin/v1/staff", body=body)


def _generate(t: Target, o: Target) -> Request:
    body = {"location_id": t.location_id, "from": str(t.day), "to": str(t.day)}
    return _on(t, "POST", "/admin/v1/slots/generate", body=body)


def _webhooks(method: str, path: str, body: Any = None) -> Operation:
    """Webhooks belong to no location: a scoped caller may not reach any (403)."""
    concrete = path.replace("{id}", str(uuid.uuid4())).replace("{delivery_id}", str(uuid.uuid4()))
    return Operation(method, path, lambda t, o: Request(method, concrete, body=body))


LOCATION, PERSON = "/admin/v1/locations/{id}", "/admin/v1/people/{id}"
FEED, WEBHOOK = "/admin/v1/people/{id}/calendar-feed", "/admin/v1/webhooks/{id}"
RULES, RULE = "/admin/v1/availabilities", "/admin/v1/availabilities/{id}"
BOOKING, STAFF = "/admin/v1/bookings/{id}", "/admin/v1/staff/{id}"
OPERATIONS = [
    _listing("/admin/v1/locations", "id"),
    Operation("PATCH", LOCATION, lambda t, o: _on(
        t, "PATCH", f"/admin/v1/locations/{t.location_id}", body={"name": "Renamed"})),
    Operation("POST", "/admin/v1/locations", lambda t, o: Request(
        "POST", "/admin/v1/locations", body={"name": "New"})),
    _listing("/admin/v1/people", "location_id"),
    _filtered("/admin/v1/people"),
    Operation("POST", "/admin/v1/people", lambda t, o: _on(
        t, "POST", "/admin/v1/people", body={"location_id": t.location_id, "name": "Extra"})),
    Operation("PATCH", PERSON, lambda t, o: _on(
        t, "PATCH", f"/admin/v1/people/{t.person_id}", body={"skills": ["xray"]})),
    _listing(RULES, "location_id"),
    _filtered(RULES),
    Operation("POST", RULES, _exception),
    Operation("GET", RULE, lambda t, o: _on(t, "GET", f"{RULES}/{t.rule_id}")),
    Operation("PATCH", RULE, lambda t, o: _on(
        t, "PATCH", f"{RULES}/{t.rule_id}", body={"slot_capacity": 2})),
    Operation("DELETE", RULE, lambda t, o: _on(t, "DELETE", f"{RULES}/{t.rule_id}")),
    Operation("POST", "/admin/v1/slots/generate", _generate),
    Operation("GET", "/admin/v1/jobs/{id}", lambda t, o: _on(
        t, "GET", f"/admin/v1/jobs/{t.job_id}")),
    _filtered("/admin/v1/slots"),
    _listing("/admin/v1/bookings", "location_id"),
    _filtered("/admin/v1/bookings"),
    _filtered("/admin/v1/waitlist"),
    Operation("PATCH", BOOKING, lambda t, o: _on(
        t, "PATCH", f"/admin/v1/bookings/{t.booking_id}", body={"action": "cancel"})),
    Operation("PATCH", BOOKING, _reschedule),
    Operation("POST", "/v1/bookings", _walk_in),
    _listing("/admin/v1/staff", "location_ids"),
    Operation("POST", "/admin/v1/staff", _new_staff),
    Operation("PATCH", STAFF, lambda t, o: _on(
        t, "PATCH", f"/admin/v1/staff/{t.staff_id}", body={"roles": ["frontdesk", "scheduler"]})),
    _listing("/admin/v1/audit", "location_id"),
    Operation("GET", f"{PERSON}/calendar.ics", lambda t, o: _on(
        t, "GET", f"/admin/v1/people/{t.person_id}/calendar.ics")),
    Operation("POST", FEED, lambda t, o: _on(
        t, "POST", f"/admin/v1/people/{t.person_id}/calendar-feed")),
    Operation("DELETE", FEED, lambda t, o: _on(
        t, "DELETE", f"/admin/v1/people/{t.person_id}/calendar-feed")),
    _webhooks("POST", "/admin/v1/webhooks", {"url": "https://example.org/h", "events": []}),
    _webhooks("GET", "/admin/v1/webhooks"),
    _webhooks("GET", WEBHOOK),
    _webhooks("PATCH", WEBHOOK, {"active": False}),
    _webhooks("DELETE", WEBHOOK),
    _webhooks("GET", f"{WEBHOOK}/deliveries"),
    _webhooks("POST", f"{WEBHOOK}/deliveries/{{delivery_id}}/retry"),
]  # fmt: skip
UNSCOPED_ONLY = {("POST", "/admin/v1/locations")} | {
    (op.method, op.path) for op in OPERATIONS if op.path.startswith("/admin/v1/webhooks")
}
"""What only a caller of every location may do: 403 for any other."""


def _call(session: requests.Session, base_url: str, bearer: str, request: Request) -> Any:
    headers = {"Authorization": f"Bearer {bearer}", "Idempotency-Key": str(uuid.uuid4())}
    return session.request(
        request.method,
        f"{base_url}{request.path}",
        params=request.params,
        json=request.body,
        headers=headers,
        timeout=30,
    )


class Platform:
    """The running platform as an unscoped admin sees it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def send(self, request: Request, bearer: str = ADMIN) -> requests.Response:
        return _call(self.session, self.base_url, bearer, request)

    def get(self, path: str, **params: str) -> Any:
        response = self.send(Request("GET", path, params))
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict) -> Any:
        response = self.send(Request("POST", path, body=body))
        assert response.status_code in (201, 202), response.text
        return response.json()

    def settle(self, job_id: str) -> None:
        deadline = time.monotonic() + JOB_SECONDS
        while self.get(f"/admin/v1/jobs/{job_id}")["job"]["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, "a job never finished"
            time.sleep(0.05)

    def location(self) -> Target:
        name = f"L{next(_numbers)}"
        location_id = self.post("/admin/v1/locations", {"name": name})["location"]["id"]
        body = {"location_id": location_id, "name": "Dr Who"}
        person_id = self.post("/admin/v1/people", body)["person"]["id"]
        day = dt.datetime.now(ZoneInfo("Asia/Dubai")).date() + dt.timedelta(days=1)
        rule = {
            "location_id": location_id,
            "person_id": person_id,
            "rule_kind": "WEEKLY",
            "start_time": "09:00",
            "end_time": "12:00",
            "valid_from": str(day),
            "valid_to": str(day),
            "slot_granularity_minutes": 30,
        }
        self.post("/admin/v1/availabilities", rule)
        generate = {"location_id": location_id, "from": str(day), "to": str(day)}
        job_id = self.post("/admin/v1/slots/generate", generate)["job"]["id"]
        self.settle(job_id)
        staff = {
            "email": f"{name.lower()}@example.org",
            "password": "correct horse battery",
            "roles": ["frontdesk"],
            "location_ids": [location_id],
        }
        staff_id = self.post("/admin/v1/staff", staff)["staff"]["id"]
        target = self.refresh(location_id, person_id, job_id, staff_id, day)
        customer = {"name": "Ann", "phone": _unique_phone()}
        self.post("/v1/bookings", {"slot_id": target.slot_id, "customer": customer})
        return self.refresh(location_id, person_id, job_id, staff_id, day)

    def refresh(
        self, location_id: str, person_id: str, job_id: str, staff_id: str, day: dt.date
    ) -> Target:
        """The target's objects as they stand now (in-scope requests change them)."""
        rules = self.get("/admin/v1/availabilities", location_id=location_id)["items"]
        bookings = self.get("/admin/v1/bookings", location_id=location_id)["items"]
        slots = self.get("/admin/v1/slots", location_id=location_id, date=str(day))["items"]
        return Target(
            location_id,
            person_id,
            rules[0]["id"] if rules else None,
            bookings[0]["id"] if bookings else None,
            slots[-1]["id"],
            job_id,
            staff_id,
            day,
        )

    def snapshot(self, location_id: str, day: dt.date) -> dict[str, Any]:
        """Everything an unscoped admin can read about the location."""
        locations = self.get("/admin/v1/locations", limit="200")["items"]
        staff = self.get("/admin/v1/staff", limit="200")["items"]
        return {
            "location": [loc for loc in locations if loc["id"] == location_id],
            "people": self.get("/admin/v1/people", location_id=location_id)["items"],
            "rules": self.get("/admin/v1/availabilities", location_id=location_id)["items"],
            "bookings": self.get("/admin/v1/bookings", location_id=location_id)["items"],
            "slots": self.get("/admin/v1/slots", location_id=location_id, date=str(day))["items"],
            "staff": [s for s in staff if s["location_ids"] == [location_id]],
        }


def _visible(item: dict, field_name: str, scope: set[str]) -> bool:
    value = item[field_name]
    if field_name == "location_ids":
        return value is not None and set(value) <= scope
    return value in scope


def test_no_endpoint_leaks_or_changes_an_object_outside_the_scope(base_url: str) -> None:
    admin_routes = {(r.method, r.path) for r in ROUTES if r.path.startswith("/admin/v1/")}
    assert admin_routes <= {(op.method, op.path) for op in OPERATIONS}
    platform = Platform(base_url)
    targets = [platform.location() for _ in range(3)]
    scoped_session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        scope=st.sets(st.integers(0, 2)),
        target_index=st.integers(0, 2),
        other_index=st.integers(0, 2),
        operation=st.sampled_from(OPERATIONS),
    )
    def no_leak(scope: set[int], target_index: int, other_index: int, operation: Operation):
        first = targets[target_index]
        target = platform.refresh(
            first.location_id, first.person_id, first.job_id, first.staff_id, first.day
        )
        other = targets[other_index]
        request = operation.build(target, other)
        if "None" in request.path:  # the object was deleted or moved away inside the scope
            return
        scope_ids = {targets[i].location_id for i in scope}
        outside = [loc for loc in request.touches if loc not in scope_ids]
        before = {loc: platform.snapshot(loc, target.day) for loc in outside}
        bearer = token(["admin"], extra={"location_ids": sorted(scope_ids)})

        response = _call(scoped_session, base_url, bearer, request)

        assert response.status_code < 500, response.text
        json_reply = response.headers["Content-Type"].startswith("application/json")
        reply = response.json() if json_reply else None
        if operation.listed and response.status_code == 200:
            items = reply["items"]
            assert all(_visible(item, operation.listed, scope_ids) for item in items), items
        if (operation.method, operation.path) in UNSCOPED_ONLY:
            assert response.status_code == 403
        elif outside:
            assert response.status_code == 404, (request, response.text)
            assert {loc: platform.snapshot(loc, target.day) for loc in outside} == before
        job = reply.get("job") if isinstance(reply, dict) else None
        if job and "id" in job:
            platform.settle(job["id"])

    no_leak()
