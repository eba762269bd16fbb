"""Requests that cannot be valid get a 4xx envelope and no error log (contract §7).

Deep JSON, dates at the ends of the calendar, and crafted or foreign cursors
each crashed a handler once; here they go in over HTTP, as an attacker sends them.
"""

import asyncio
import base64
import datetime as dt
import io
import json
import uuid

import asyncpg
import dramatiq
import pytest

from tests.support import rows
from tests.support.api import Api, Response, token

ADMIN = token(["admin"])
TODAY = dt.datetime.now(dt.UTC).date()
BEYOND = [
    "9999-12-31",
    "0001-01-01",
    str(TODAY.replace(year=TODAY.year + 6)),
    str(TODAY.replace(year=TODAY.year - 2)),
]
IMPOSSIBLE = ["10000-01-01", "2026-02-30", "2026-13-01", "0000-01-01"]


def _nested(levels: int) -> dict:
    """`{"name": [[...]]}`: an object holding arrays, `levels` deep in all."""
    inner: object = []
    for _ in range(levels - 2):
        inner = [inner]
    return {"name": inner}


async def _post_raw(api: Api, path: str, body: str, key: bool = True) -> Response:
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    response = await api.client.post(path, data=body.encode(), headers=headers)
    return Response(response.status, await response.json(), response.headers)


def _errors_logged(log_lines: io.StringIO) -> list[str]:
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    return [line["event"] for line in lines if line["level"] in ("error", "critical")]


@pytest.mark.parametrize("path", ["/admin/v1/locations", "/auth/token"])
async def test_json_nested_ten_thousand_deep_is_400(api: Api, path: str) -> None:
    response = await _post_raw(api, path, "[" * 10_000 + "]" * 10_000)
    assert response.status == 400
    assert response.code == "BAD_REQUEST"


async def test_deep_json_logs_no_error(api: Api, log_lines: io.StringIO) -> None:
    await _post_raw(api, "/auth/token", '{"email":' + "[" * 10_000 + "]" * 10_000 + "}")
    assert _errors_logged(log_lines) == []


async def test_json_33_levels_deep_is_400(api: Api) -> None:
    response = await _post_raw(api, "/admin/v1/locations", json.dumps(_nested(33)))
    assert response.status == 400
    assert response.code == "BAD_REQUEST"


async def test_json_32_levels_deep_is_parsed_and_validated(api: Api) -> None:
    response = await _post_raw(api, "/admin/v1/locations", json.dumps(_nested(32)))
    assert response.status == 422
    assert response.json["error"]["details"]["fields"][0]["field"] == "name"


async def test_brackets_inside_strings_are_not_nesting(api: Api) -> None:
    response = await _post_raw(api, "/admin/v1/locations", json.dumps({"name": "[{" * 100}))
    assert response.status == 201


def _field_names(response: Response) -> set[str]:
    return {f["field"] for f in response.json["error"]["details"]["fields"]}


@pytest.fixture
async def location(db: asyncpg.Connection) -> str:
    return str(await rows.location(db))


@pytest.mark.parametrize("day", BEYOND)
@pytest.mark.parametrize("path", ["/v1/slots", "/admin/v1/slots"])
async def test_slots_for_a_date_outside_the_supported_range_are_422(
    api: Api, location: str, path: str, day: str
) -> None:
    response = await api.get(path, token=ADMIN, params={"location_id": location, "date": day})
    assert response.status == 422
    assert response.code == "VALIDATION_ERROR"
    assert _field_names(response) == {"date"}


@pytest.mark.parametrize("day", BEYOND)
@pytest.mark.parametrize("name", ["from", "to"])
async def test_dates_outside_the_supported_range_are_422(
    api: Api, location: str, name: str, day: str
) -> None:
    response = await api.get("/v1/dates", token=ADMIN, params={"location_id": location, name: day})
    assert response.status == 422
    assert response.code == "VALIDATION_ERROR"
    assert _field_names(response) == {name}


@pytest.mark.parametrize("day", IMPOSSIBLE)
@pytest.mark.parametrize("path", ["/v1/slots", "/admin/v1/slots", "/v1/dates"])
async def test_a_date_no_calendar_has_is_422(api: Api, location: str, path: str, day: str) -> None:
    name = "from" if path == "/v1/dates" else "date"
    response = await api.get(path, token=ADMIN, params={"location_id": location, name: day})
    assert response.status == 422
    assert response.code == "VALIDATION_ERROR"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize(
    "offset", [dt.timedelta(days=-364), dt.timedelta(days=5 * 365 - 2)], ids=["first", "last"]
)
@pytest.mark.parametrize("path", ["/v1/slots", "/admin/v1/slots"])
async def test_supported_dates_far_from_utc_are_answered(
    api: Api, location: str, path: str, offset: dt.timedelta, zone: str
) -> None:
    params = {"location_id": location, "date": str(TODAY + offset), "timezone": zone}
    response = await api.get(path, token=ADMIN, params=params)
    assert response.status == 200


@pytest.mark.parametrize("day", [*BEYOND, *IMPOSSIBLE])
@pytest.mark.parametrize("name", ["from", "to"])
async def test_generation_for_dates_outside_the_range_is_422_and_queues_nothing(
    api: Api, location: str, db: asyncpg.Connection, name: str, day: str
) -> None:
    body = {"location_id": location, "from": str(TODAY), "to": str(TODAY), name: day}
    response = await api.post("/admin/v1/slots/generate", token=ADMIN, json=body)
    assert response.status == 422
    assert name in _field_names(response)
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0


@pytest.mark.parametrize("bounds", [("0001-01-01", "9999-12-31"), ("9999-12-31", "9999-12-31")])
async def test_staff_booking_history_takes_any_calendar_date(
    api: Api, bounds: tuple[str, str]
) -> None:
    params = {"from": bounds[0], "to": bounds[1]}
    response = await api.get("/admin/v1/bookings", token=ADMIN, params=params)
    assert response.status == 200
    assert response.json["items"] == []


@pytest.mark.parametrize("name", ["from", "to"])
async def test_staff_booking_history_with_an_impossible_date_is_422(api: Api, name: str) -> None:
    response = await api.get("/admin/v1/bookings", token=ADMIN, params={name: "10000-01-01"})
    assert response.status == 422
    assert _field_names(response) == {name}


async def test_rule_valid_to_the_ends_of_the_calendar_still_generates(
    api: Api, location: str, worker: dramatiq.Worker
) -> None:
    rule = {
        "location_id": location,
        "rule_kind": "WEEKLY",
        "start_time": "09:00",
        "end_time": "10:00",
        "valid_from": "0001-01-01",
        "valid_to": "9999-12-31",
    }
    created = await api.post("/admin/v1/availabilities", token=ADMIN, json=rule)
    assert created.status == 201, created.json
    body = {"location_id": location, "from": str(TODAY), "to": str(TODAY + dt.timedelta(6))}
    started = await api.post("/admin/v1/slots/generate", token=ADMIN, json=body)
    assert started.status == 202
    path = f"/admin/v1/jobs/{started.json['job']['id']}"
    job = await _finished(api, path)
    assert job["status"] == "succeeded", job
    assert job["result"]["created"] > 0


async def _finished(api: Api, path: str) -> dict:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        job = (await api.get(path, token=ADMIN)).json["job"]
        if job["status"] in ("succeeded", "failed"):
            return job
        assert asyncio.get_running_loop().time() < deadline, "the job never finished"
        await asyncio.sleep(0.05)


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


LISTS = [
    "/admin/v1/locations",
    "/admin/v1/people",
    "/admin/v1/availabilities",
    "/admin/v1/bookings",
]
CRAFTED = {
    "pair of numbers": _cursor([1, 2]),
    "string": _cursor(["x"]),
    "empty list inside": _cursor([[]]),
    "number": _cursor([1]),
    "null": _cursor([None]),
    "object": _cursor({"id": str(uuid.uuid4())}),
    "bare uuid": _cursor([str(uuid.uuid4())]),
    "instant without offset": _cursor(["2026-01-01T09:00:00", str(uuid.uuid4())]),
    "instant past year 1 in UTC": _cursor(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),
    "not base64": "%%%",
    "not utf-8": base64.urlsafe_b64encode(b"\xff\xfe[").decode(),
    "deep": _cursor([[[[[[[[[[str(uuid.uuid4())]]]]]]]]]]),
    "ten thousand deep": base64.urlsafe_b64encode(b"[" * 4000).decode(),
    "huge number": _cursor([10**400]),
}


@pytest.mark.parametrize("crafted", CRAFTED.values(), ids=CRAFTED.keys())
@pytest.mark.parametrize("path", LISTS)
async def test_crafted_cursor_is_400(api: Api, path: str, crafted: str) -> None:
    response = await api.get(path, token=ADMIN, params={"cursor": crafted})
    assert response.status == 400
    assert response.code == "BAD_REQUEST"
    assert _field_names(response) == {"cursor"}


@pytest.mark.parametrize("path", ["/admin/v1/people", "/admin/v1/availabilities"])
async def test_cursor_from_another_list_is_400(api: Api, path: str) -> None:
    for name in ("A", "B"):
        await api.post("/admin/v1/locations", token=ADMIN, json={"name": name})
    first = await api.get("/admin/v1/locations", token=ADMIN, params={"limit": "1"})
    foreign = first.json["next_cursor"]
    assert foreign
    response = await api.get(path, token=ADMIN, params={"cursor": foreign})
    assert response.status == 400
    assert response.code == "BAD_REQUEST"


@pytest.mark.parametrize(
    "position", [2**63, -1, 1.5, True], ids=["past bigint", "negative", "fraction", "bool"]
)
async def test_a_waitlist_cursor_past_any_arrival_number_is_400(api: Api, position: object) -> None:
    params = {
        "location_id": str(uuid.uuid4()),
        "date": "2026-12-01",
        "cursor": _cursor(["waitlist", position]),
    }
    response = await api.get("/admin/v1/waitlist", token=ADMIN, params=params)
    assert response.status == 400
    assert response.code == "BAD_REQUEST"
    assert _field_names(response) == {"cursor"}


NOT_A_DAY = {
    "unix time": "0",
    "instant with an offset": "2026-12-01T00:00:00+14:00",
    "no dashes": "20261201",
}


@pytest.mark.parametrize("day", NOT_A_DAY.values(), ids=NOT_A_DAY.keys())
async def test_a_date_that_is_not_yyyy_mm_dd_is_422(api: Api, day: str) -> None:
    slots = await api.get(
        "/v1/slots",
        token=token(["user"]),
        params={"location_id": str(uuid.uuid4()), "date": day},
    )
    listed = await api.get("/admin/v1/bookings", token=ADMIN, params={"from": day})
    assert (slots.status, slots.code) == (422, "VALIDATION_ERROR")
    assert (listed.status, listed.code) == (422, "VALIDATION_ERROR")
    assert _field_names(slots) == {"date"}
    assert _field_names(listed) == {"from"}


async def test_a_weekday_sent_as_true_is_422(api: Api, location: str) -> None:
    rule = {
        "location_id": location,
        "rule_kind": "WEEKLY",
        "days_of_week": [True],
        "start_time": "09:00",
        "end_time": "17:00",
    }
    response = await api.post("/admin/v1/availabilities", token=ADMIN, json=rule)
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
