"""Availability rules once created: read, changed and deleted over HTTP, with the job that
brings the slots in line (real workers).

A change keeps what is booked: slots the new hours no longer cover are blocked unless
they carry a booking, which stays and is counted as a conflict.
"""

import uuid

import asyncpg
import dramatiq
import pytest

from tests.support.api import Api, token
from tests.support.lifecycle import ADMIN, DESK, created, finished, hold, place, weekly
from tests.support.lifecycle import slots as staff_slots

SCHEDULER = token(["scheduler"])


async def _rule_id(api: Api, location_id: str) -> str:
    listed = await api.get(
        "/admin/v1/availabilities", token=ADMIN, params={"location_id": location_id}
    )
    [rule] = listed.json["items"]
    return rule["id"]


async def _rule_row(db: asyncpg.Connection, rule_id: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM availability_rules WHERE id = $1", uuid.UUID(rule_id))


async def _jobs(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT count(*) FROM jobs")


async def _slot_statuses(db: asyncpg.Connection, location_id: str) -> dict[str, list[str]]:
    """Each local start time of the location's slots, with the statuses found there."""
    rows = await db.fetch(
        "SELECT to_char(s.start_at AT TIME ZONE l.timezone, 'HH24:MI') AS at, s.status"
        " FROM slot_instances s JOIN locations l ON l.id = s.location_id"
        " WHERE s.location_id = $1 ORDER BY s.start_at",
        uuid.UUID(location_id),
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["at"], []).append(row["status"])
    return found


async def test_a_rule_is_read_by_its_id(api: Api, worker: dramatiq.Worker) -> None:
    here = await place(api)
    rule_id = await _rule_id(api, here.location_id)
    response = await api.get(f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER)
    assert response.status == 200
    assert response.json["availability"]["id"] == rule_id
    assert response.json["availability"]["person_id"] == here.person_id
    for missing in (str(uuid.uuid4()), "nope"):
        unknown = await api.get(f"/admin/v1/availabilities/{missing}", token=SCHEDULER)
        assert (unknown.status, unknown.code) == (404, "NOT_FOUND")


async def test_new_weekly_hours_block_the_old_create_the_new_and_keep_the_booked(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api)
    nine = (await staff_slots(api, here.location_id, here.days[0]))[0]
    booking = await hold(api, nine["id"], "+971502220001")
    await api.post(f"/v1/bookings/{booking['id']}/confirm", token=DESK)
    rule_id = await _rule_id(api, here.location_id)

    changed = await api.patch(
        f"/admin/v1/availabilities/{rule_id}",
        token=SCHEDULER,
        json={"start_time": "10:00", "end_time": "13:00"},
    )

    assert changed.status == 200, changed.json
    rule = changed.json["availability"]
    assert (rule["start_time"], rule["end_time"]) == ("10:00", "13:00")
    assert rule["days_of_week"] == [1, 2, 3, 4, 5, 6, 7]
    assert changed.json["job"]["status"] == "queued"
    result = await finished(api, changed.json["job"]["id"])
    assert result == {"created": 4, "unchanged": 8, "blocked": 3, "conflicts": 1}
    statuses = await _slot_statuses(db, here.location_id)
    assert statuses["09:00"] == ["full", "blocked"]
    assert statuses["09:30"] == ["blocked", "blocked"]
    assert statuses["10:00"] == statuses["12:30"] == ["open", "open"]
    kept = await db.fetchval("SELECT status FROM bookings WHERE id = $1", uuid.UUID(booking["id"]))
    assert kept == "confirmed"


async def test_deleting_a_rule_blocks_its_slots_and_keeps_the_booked(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api)
    nine = (await staff_slots(api, here.location_id, here.days[0]))[0]
    await hold(api, nine["id"], "+971502220002")
    rule_id = await _rule_id(api, here.location_id)

    deleted = await api.request("DELETE", f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER)

    assert deleted.status == 202, deleted.json
    result = await finished(api, deleted.json["job"]["id"])
    assert result == {"created": 0, "unchanged": 0, "blocked": 11, "conflicts": 1}
    assert await _rule_row(db, rule_id) is None
    statuses = await _slot_statuses(db, here.location_id)
    assert statuses["09:00"] == ["full", "blocked"]
    assert {s for at, found in statuses.items() if at != "09:00" for s in found} == {"blocked"}
    gone = await api.get(f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER)
    assert gone.status == 404
    again = await api.request("DELETE", f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER)
    assert again.status == 404


async def test_a_delete_without_an_idempotency_key_is_400(api: Api, worker: dramatiq.Worker):
    here = await place(api)
    rule_id = await _rule_id(api, here.location_id)
    response = await api.request(
        "DELETE", f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER, key=None
    )
    assert (response.status, response.code) == (400, "IDEMPOTENCY_KEY_REQUIRED")


async def test_a_change_that_overlaps_another_rule_is_409_and_changes_nothing(
    api: Api, db: asyncpg.Connection
) -> None:
    location = (await created(api, "/admin/v1/locations", {"name": "Clinic"}))["location"]["id"]
    await created(api, "/admin/v1/availabilities", weekly(location, days_of_week=[1, 2, 3, 4, 5]))
    weekend = await created(api, "/admin/v1/availabilities", weekly(location, days_of_week=[6, 7]))
    rule_id = weekend["availability"]["id"]
    before, jobs = await _rule_row(db, rule_id), await _jobs(db)
    clash = await api.patch(
        f"/admin/v1/availabilities/{rule_id}",
        token=SCHEDULER,
        json={"days_of_week": [5, 6], "start_time": "11:00", "end_time": "14:00"},
    )
    assert (clash.status, clash.code) == (409, "RULE_OVERLAP")
    assert await _rule_row(db, rule_id) == before
    assert await _jobs(db) == jobs
    later = await api.patch(
        f"/admin/v1/availabilities/{rule_id}",
        token=SCHEDULER,
        json={"days_of_week": [6], "start_time": "11:00"},
    )
    assert later.status == 200
    assert later.json["availability"]["days_of_week"] == [6]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"end_time": "08:00"}, "end_time"),
        ({"start_time": "9am"}, "start_time"),
        ({"start_time": None}, "start_time"),
        ({"slot_duration_minutes": 5}, "slot_duration_minutes"),
        ({"slot_capacity": 0}, "slot_capacity"),
        ({"days_of_week": [0]}, "days_of_week"),
        ({"rule_kind": "DATE_RANGE"}, "valid_from"),
        ({"is_closed": True}, "is_closed"),
        ({"valid_from": "2030-02-01", "valid_to": "2030-01-01"}, "valid_to"),
        ({"location_id": str(uuid.uuid4())}, "location_id"),
        ({"person_id": str(uuid.uuid4())}, "person_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_change_that_breaks_the_rule_is_422_naming_the_field_and_changes_nothing(
    api: Api, db: asyncpg.Connection, body: dict, field: str
) -> None:
    location = (await created(api, "/admin/v1/locations", {"name": "Clinic"}))["location"]["id"]
    rule_id = (await created(api, "/admin/v1/availabilities", weekly(location)))["availability"][
        "id"
    ]
    before, jobs = await _rule_row(db, rule_id), await _jobs(db)
    response = await api.patch(
        f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER, json={"slot_capacity": 3, **body}
    )
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
    assert [f["field"] for f in response.json["error"]["details"]["fields"]] == [field]
    assert await _rule_row(db, rule_id) == before
    assert await _jobs(db) == jobs


async def test_moving_a_rule_to_another_person_reconciles_the_whole_location(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api)
    body = {"location_id": here.location_id, "name": "Dr No"}
    other = (await created(api, "/admin/v1/people", body))["person"]["id"]
    rule_id = await _rule_id(api, here.location_id)
    moved = await api.patch(
        f"/admin/v1/availabilities/{rule_id}", token=SCHEDULER, json={"person_id": other}
    )
    assert moved.status == 200, moved.json
    result = await finished(api, moved.json["job"]["id"])
    assert (result["created"], result["blocked"]) == (12, 12)
    owners = await db.fetch(
        "SELECT person_id, status, count(*) FROM slot_instances GROUP BY person_id, status"
    )
    assert {(str(r["person_id"]), r["status"], r["count"]) for r in owners} == {
        (here.person_id, "blocked", 12),
        (other, "open", 12),
    }


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("manager", True),
        ("scheduler", True),
        ("frontdesk", False),
        ("user", False),
    ],
)
async def test_role_matrix_for_reading_changing_and_deleting_rules(
    api: Api, worker: dramatiq.Worker, role: str, allowed: bool
) -> None:
    location = (await created(api, "/admin/v1/locations", {"name": "Clinic"}))["location"]["id"]
    rule_id = (await created(api, "/admin/v1/availabilities", weekly(location)))["availability"][
        "id"
    ]
    bearer, path = token([role]), f"/admin/v1/availabilities/{rule_id}"
    read = await api.get(path, token=bearer)
    changed = await api.patch(path, token=bearer, json={"slot_capacity": 2})
    deleted = await api.request("DELETE", path, token=bearer)
    expected = (200, 200, 202) if allowed else (403, 403, 403)
    assert (read.status, changed.status, deleted.status) == expected


async def test_rule_changes_are_in_the_audit_log_with_their_actor(
    api: Api, worker: dramatiq.Worker
) -> None:
    location = (await created(api, "/admin/v1/locations", {"name": "Clinic"}))["location"]["id"]
    rule_id = (await created(api, "/admin/v1/availabilities", weekly(location)))["availability"][
        "id"
    ]
    actor = token(["scheduler"], subject="planner-3")
    path = f"/admin/v1/availabilities/{rule_id}"
    changed = await api.patch(path, token=actor, json={"slot_capacity": 2})
    await api.request("DELETE", path, token=actor)
    trail = await api.get("/admin/v1/audit", token=ADMIN, params={"target_id": rule_id})
    entries = [(e["action"], e["actor"]) for e in trail.json["items"]]
    assert entries == [
        ("availability.deleted", "planner-3"),
        ("availability.updated", "planner-3"),
        ("availability.created", trail.json["items"][-1]["actor"]),
    ]
    updated = trail.json["items"][1]["details"]
    assert updated == {"changed": {"slot_capacity": 2}, "job_id": changed.json["job"]["id"]}
