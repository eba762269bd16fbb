"""Availability rules over HTTP, and slot generation through a real worker."""

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import dramatiq
import pytest

from tests.support import rows
from tests.support.api import Api, token
from workers.broker import MAX_RETRIES

MONDAY = dt.date(2030, 1, 7)
SCHEDULER = token(["scheduler"])


def _weekly(location: uuid.UUID, **extra: object) -> dict:
    return {
        "location_id": str(location),
        "rule_kind": "WEEKLY",
        "days_of_week": [1, 2, 3, 4, 5],
        "start_time": "09:00",
        "end_time": "12:00",
        "slot_granularity_minutes": 30,
        "slot_duration_minutes": 30,
        **extra,
    }


async def _rule(api: Api, body: dict) -> dict:
    response = await api.post("/admin/v1/availabilities", token=SCHEDULER, json=body)
    assert response.status == 201, response.json
    return response.json["availability"]


async def _generate(api: Api, location: uuid.UUID, first: dt.date, last: dt.date, **extra) -> dict:
    body = {"location_id": str(location), "from": str(first), "to": str(last), **extra}
    started = await api.post("/admin/v1/slots/generate", token=SCHEDULER, json=body)
    assert started.status == 202, started.json
    assert started.json["job"]["status"] == "queued"
    path = f"/admin/v1/jobs/{started.json['job']['id']}"
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        job = (await api.get(path, token=SCHEDULER)).json["job"]
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job
            return job["result"]
        assert asyncio.get_running_loop().time() < deadline, "the job never finished"
        await asyncio.sleep(0.05)


async def test_rule_is_echoed_with_contract_fields(api: Api, db: asyncpg.Connection) -> None:
    location = await rows.location(db)
    rule = await _rule(api, _weekly(location, end_time="24:00"))
    assert rule["start_time"] == "09:00"
    assert rule["end_time"] == "24:00"
    assert rule["days_of_week"] == [1, 2, 3, 4, 5]
    assert rule["person_id"] is None
    listed = await api.get(
        "/admin/v1/availabilities", token=SCHEDULER, params={"location_id": str(location)}
    )
    assert [r["id"] for r in listed.json["items"]] == [rule["id"]]


@pytest.mark.parametrize(
    "change",
    [
        {"end_time": "08:00"},
        {"start_time": "9am"},
        {"slot_duration_minutes": 10, "slot_granularity_minutes": 15},
        {"slot_capacity": 0},
        {"days_of_week": [0]},
        {"rule_kind": "DATE_RANGE"},
        {"rule_kind": "EXCEPTION", "valid_from": "2030-01-01"},
        {"is_closed": True},
    ],
)
async def test_invalid_rules_are_422_and_create_nothing(
    api: Api, db: asyncpg.Connection, change: dict
) -> None:
    location = await rows.location(db)
    response = await api.post(
        "/admin/v1/availabilities", token=SCHEDULER, json=_weekly(location, **change)
    )
    assert response.status == 422
    assert await db.fetchval("SELECT count(*) FROM availability_rules") == 0


def _broken(field: str, message: str, kind: str = "value_error") -> list[dict[str, str]]:
    return [{"field": field, "message": message, "type": kind}]


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"end_time": "08:00"}, _broken("body", "Value error, end_time must be after start_time")),
        (
            {"start_time": "24:00", "end_time": "24:00"},
            _broken("body", "Value error, end_time must be after start_time"),
        ),
        (
            {"start_time": "9am"},
            _broken("start_time", "Value error, times are HH:MM, 00:00 to 24:00"),
        ),
        (
            {"slot_duration_minutes": 10, "slot_granularity_minutes": 15},
            _broken(
                "body",
                "Value error, slot_duration_minutes must be at least slot_granularity_minutes",
            ),
        ),
        (
            {"slot_capacity": 0},
            _broken(
                "slot_capacity", "Input should be greater than or equal to 1", "greater_than_equal"
            ),
        ),
        (
            {"days_of_week": [0]},
            _broken("days_of_week", "Value error, days are ISO weekdays 1 (Monday) to 7 (Sunday)"),
        ),
        (
            {"rule_kind": "DATE_RANGE"},
            _broken("body", "Value error, DATE_RANGE rules need valid_from and valid_to"),
        ),
        (
            {"rule_kind": "EXCEPTION", "valid_from": "2030-01-02", "valid_to": "2030-01-01"},
            _broken("body", "Value error, valid_to must not be before valid_from"),
        ),
        ({"is_closed": True}, _broken("body", "Value error, only EXCEPTION rules can close hours")),
    ],
)
async def test_each_broken_rule_invariant_is_named_in_the_422(
    api: Api, db: asyncpg.Connection, change: dict, fields: list[dict[str, str]]
) -> None:
    location = await rows.location(db)
    response = await api.post(
        "/admin/v1/availabilities", token=SCHEDULER, json=_weekly(location, **change)
    )
    assert response.status == 422
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert response.json["error"]["details"] == {"fields": fields}


async def test_person_from_another_location_is_422(api: Api, db: asyncpg.Connection) -> None:
    here, there = await rows.location(db), await rows.location(db)
    stranger = await rows.person(db, there)
    response = await api.post(
        "/admin/v1/availabilities",
        token=SCHEDULER,
        json=_weekly(here, person_id=str(stranger)),
    )
    assert response.status == 422


async def test_overlapping_rules_of_one_owner_are_409(api: Api, db: asyncpg.Connection) -> None:
    location = await rows.location(db)
    await _rule(api, _weekly(location))
    clash = await api.post(
        "/admin/v1/availabilities",
        token=SCHEDULER,
        json=_weekly(location, days_of_week=[5, 6], start_time="11:00", end_time="13:00"),
    )
    assert clash.status == 409
    assert clash.code == "RULE_OVERLAP"
    touching = _weekly(location, start_time="12:00", end_time="14:00")
    assert (
        await api.post("/admin/v1/availabilities", token=SCHEDULER, json=touching)
    ).status == 201


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 201), ("manager", 201), ("scheduler", 201), ("frontdesk", 403), ("user", 403)],
)
async def test_role_matrix_for_rules(api: Api, db: asyncpg.Connection, role: str, status: int):
    location = await rows.location(db)
    created = await api.post(
        "/admin/v1/availabilities", token=token([role]), json=_weekly(location)
    )
    assert created.status == status
    listed = await api.get("/admin/v1/availabilities", token=token([role]))
    assert listed.status == (200 if status == 201 else 403)
    generate = await api.post(
        "/admin/v1/slots/generate",
        token=token([role]),
        json={"location_id": str(location), "from": str(MONDAY), "to": str(MONDAY)},
    )
    assert generate.status == (202 if status == 201 else 403)


async def test_generation_range_over_366_days_is_422(api: Api, db: asyncpg.Connection) -> None:
    location = await rows.location(db)
    response = await api.post(
        "/admin/v1/slots/generate",
        token=SCHEDULER,
        json={"location_id": str(location), "from": "2030-01-01", "to": "2031-01-02"},
    )
    assert response.status == 422


async def test_unknown_job_is_404(api: Api) -> None:
    assert (await api.get(f"/admin/v1/jobs/{uuid.uuid4()}", token=SCHEDULER)).status == 404
    assert (await api.get("/admin/v1/jobs/nope", token=SCHEDULER)).status == 404


async def test_weekly_generation_counts_and_second_run_creates_nothing(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(api, _weekly(location))
    first = await _generate(api, location, MONDAY, MONDAY + dt.timedelta(days=13))
    assert first == {"created": 60, "unchanged": 0, "blocked": 0, "conflicts": 0}
    again = await _generate(api, location, MONDAY, MONDAY + dt.timedelta(days=13))
    assert again == {"created": 0, "unchanged": 60, "blocked": 0, "conflicts": 0}
    assert await db.fetchval("SELECT count(*) FROM slot_instances") == 60


async def test_date_range_replaces_weekly_hours(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(api, _weekly(location))
    await _rule(
        api,
        {
            **_weekly(location, start_time="14:00", end_time="15:00"),
            "rule_kind": "DATE_RANGE",
            "valid_from": str(MONDAY),
            "valid_to": str(MONDAY),
        },
    )
    await _generate(api, location, MONDAY, MONDAY + dt.timedelta(days=1))
    starts = await db.fetch("SELECT start_at FROM slot_instances ORDER BY start_at")
    hours = [(s["start_at"].date(), s["start_at"].strftime("%H:%M")) for s in starts]
    assert [h for d, h in hours if d == MONDAY] == ["14:00", "14:30"]
    assert len([h for d, h in hours if d != MONDAY]) == 6


async def test_location_wide_closing_removes_every_persons_slots(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    people = [await rows.person(db, location), await rows.person(db, location)]
    for person in people:
        await _rule(api, _weekly(location, person_id=str(person)))
    holiday = {
        **_weekly(location, start_time="00:00", end_time="24:00"),
        "rule_kind": "EXCEPTION",
        "is_closed": True,
        "days_of_week": None,
        "valid_from": str(MONDAY),
        "valid_to": str(MONDAY),
    }
    await _rule(api, holiday)
    await _generate(api, location, MONDAY, MONDAY + dt.timedelta(days=1))
    per_day = await db.fetch(
        "SELECT person_id, date, count(*) AS n FROM slot_instances GROUP BY 1, 2 ORDER BY 2"
    )
    assert {(r["date"], r["n"]) for r in per_day} == {(MONDAY + dt.timedelta(days=1), 6)}
    assert {r["person_id"] for r in per_day} == set(people)


async def test_regeneration_blocks_uncovered_slots_and_keeps_booked_ones(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "UTC")
    await _rule(api, _weekly(location))
    await _generate(api, location, MONDAY, MONDAY)
    booked_slot = await db.fetchval(
        "SELECT id FROM slot_instances ORDER BY start_at LIMIT 1 OFFSET 2"
    )
    await db.execute(
        "UPDATE slot_instances SET booked = 1, status = 'full' WHERE id = $1", booked_slot
    )
    closing = {
        **_weekly(location, start_time="10:00", end_time="11:00"),
        "rule_kind": "EXCEPTION",
        "is_closed": True,
        "valid_from": str(MONDAY),
        "valid_to": str(MONDAY),
    }
    await _rule(api, closing)
    result = await _generate(api, location, MONDAY, MONDAY)
    assert result == {"created": 0, "unchanged": 4, "blocked": 1, "conflicts": 1}
    statuses = await db.fetch("SELECT status FROM slot_instances ORDER BY start_at")
    assert [s["status"] for s in statuses] == ["open", "open", "full", "blocked", "open", "open"]


async def test_generation_in_new_york_skips_the_missing_hour(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db, "America/New_York")
    day = dt.date(2027, 3, 14)
    await _rule(
        api,
        _weekly(location, days_of_week=[7], start_time="00:00", end_time="04:00"),
    )
    result = await _generate(api, location, day, day)
    assert result["created"] == 6


@pytest.fixture
async def slots_refused(db: asyncpg.Connection) -> AsyncIterator[None]:
    """Postgres refuses every new slot and counts the attempts: generation fails every time."""
    await db.execute("CREATE SEQUENCE generation_attempts")
    await db.execute(
        "CREATE FUNCTION refuse_slots() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " PERFORM nextval('generation_attempts'); RAISE EXCEPTION 'slots refused for the test';"
        " END $$"
    )
    await db.execute(
        "CREATE TRIGGER refuse_slots BEFORE INSERT ON slot_instances"
        " FOR EACH STATEMENT EXECUTE FUNCTION refuse_slots()"
    )
    try:
        yield
    finally:
        await db.execute("DROP TRIGGER refuse_slots ON slot_instances")
        await db.execute("DROP FUNCTION refuse_slots()")
        await db.execute("DROP SEQUENCE generation_attempts")


async def test_a_job_failing_every_time_ends_failed_after_its_retries(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, slots_refused: None
) -> None:
    location = await rows.location(db)
    await _rule(api, _weekly(location))
    body = {"location_id": str(location), "from": str(MONDAY), "to": str(MONDAY)}
    started = await api.post("/admin/v1/slots/generate", token=SCHEDULER, json=body)
    path = f"/admin/v1/jobs/{started.json['job']['id']}"
    deadline = asyncio.get_running_loop().time() + 60
    job = (await api.get(path, token=SCHEDULER)).json["job"]
    while job["status"] != "failed":
        assert job["status"] in ("queued", "running"), job
        assert asyncio.get_running_loop().time() < deadline, "the job never failed"
        await asyncio.sleep(0.05)
        job = (await api.get(path, token=SCHEDULER)).json["job"]
    attempts = MAX_RETRIES + 1
    assert await db.fetchval("SELECT last_value FROM generation_attempts") == attempts
    assert "slots refused for the test" in job["error"]
    await asyncio.to_thread(worker.broker.join, "default", timeout=30_000)
    assert (await api.get(path, token=SCHEDULER)).json["job"] == job
    assert await db.fetchval("SELECT last_value FROM generation_attempts") == attempts
