"""Locations and people once created: changed, deactivated, reactivated, over HTTP.

Deactivation closes every future slot in the same transaction and names the live
bookings it leaves alone; exposure and dates show nothing at once; generation does
not reopen anything until the person or location is active again.
"""

import datetime as dt
import uuid

import asyncpg
import dramatiq
import pytest

from tests.support.api import Api, token
from tests.support.lifecycle import ADMIN, DESK, created, exposed, finished, generate, hold, place
from tests.support.lifecycle import slots as staff_slots

MANAGER = token(["manager"])


async def _location(api: Api, **body: object) -> dict:
    return (await created(api, "/admin/v1/locations", {"name": "Clinic", **body}))["location"]


async def _statuses(db: asyncpg.Connection, person_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT status FROM slot_instances WHERE person_id = $1 AND start_at > now()"
        " ORDER BY start_at",
        uuid.UUID(person_id),
    )
    return [r["status"] for r in rows]


async def test_a_location_is_shown_with_its_active_flag_and_policy(api: Api) -> None:
    location = await _location(api)
    assert location["active"] is True
    assert location["policy"] == {
        "min_notice_minutes": 0,
        "max_advance_days": None,
        "buffer_minutes": 0,
    }


async def test_patching_a_location_changes_only_the_fields_given(api: Api) -> None:
    location = await _location(api, timezone="Europe/London")
    path = f"/admin/v1/locations/{location['id']}"
    renamed = await api.patch(path, token=MANAGER, json={"name": "  Harbour  "})
    assert renamed.status == 200, renamed.json
    assert renamed.json["location"] == {**location, "name": "Harbour"}
    policy = {"min_notice_minutes": 60, "buffer_minutes": 10}
    with_policy = await api.patch(path, token=MANAGER, json={"policy": policy})
    assert with_policy.json["location"]["name"] == "Harbour"
    assert with_policy.json["location"]["policy"] == {**policy, "max_advance_days": None}
    moved = await api.patch(path, token=MANAGER, json={"timezone": "Asia/Tokyo"})
    assert moved.json["location"]["timezone"] == "Asia/Tokyo"
    assert moved.json["location"]["policy"]["min_notice_minutes"] == 60
    listed = (await api.get("/admin/v1/locations", token=ADMIN)).json["items"]
    assert listed == [moved.json["location"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"active": "perhaps"}, "active"),
        ({"policy": {"min_notice_minutes": -1}}, "policy.min_notice_minutes"),
        ({"policy": {"max_advance_days": 0}}, "policy.max_advance_days"),
        ({"policy": {"colour": "red"}}, "policy.colour"),
        ({"policy": 5}, "policy"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_location_patch_is_422_naming_the_field_and_changes_nothing(
    api: Api, db: asyncpg.Connection, body: dict, field: str
) -> None:
    location = await _location(api)
    before = await db.fetchrow("SELECT * FROM locations WHERE id = $1", uuid.UUID(location["id"]))
    response = await api.patch(
        f"/admin/v1/locations/{location['id']}", token=ADMIN, json={"name": "New", **body}
    )
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
    assert [f["field"] for f in response.json["error"]["details"]["fields"]] == [field]
    after = await db.fetchrow("SELECT * FROM locations WHERE id = $1", uuid.UUID(location["id"]))
    assert after == before


async def test_the_time_zone_cannot_change_while_the_location_has_future_slots(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api, person=False)
    path = f"/admin/v1/locations/{here.location_id}"
    refused = await api.patch(path, token=ADMIN, json={"name": "New", "timezone": "Asia/Tokyo"})
    assert (refused.status, refused.code) == (409, "IN_USE")
    assert refused.json["error"]["details"]["future_slots"] == 12
    row = await db.fetchrow(
        "SELECT name, timezone FROM locations WHERE id = $1", uuid.UUID(here.location_id)
    )
    assert dict(row) == {"name": "Clinic", "timezone": "Asia/Dubai"}
    same_zone = await api.patch(path, token=ADMIN, json={"timezone": "Asia/Dubai"})
    assert same_zone.status == 200


async def test_the_time_zone_changes_once_no_slot_is_ahead(
    api: Api, db: asyncpg.Connection
) -> None:
    location = await _location(api)
    await db.execute(
        "INSERT INTO slot_instances (id, location_id, date, start_at, end_at, capacity)"
        " VALUES ($1, $2, '2020-01-01', '2020-01-01T09:00Z', '2020-01-01T09:30Z', 1)",
        uuid.uuid4(),
        uuid.UUID(location["id"]),
    )
    path = f"/admin/v1/locations/{location['id']}"
    moved = await api.patch(path, token=ADMIN, json={"timezone": "America/New_York"})
    assert moved.status == 200, moved.json
    assert moved.json["location"]["timezone"] == "America/New_York"


async def test_deactivating_a_person_closes_their_slots_and_keeps_their_bookings(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api)
    day = here.days[0]
    first, second, *_ = await staff_slots(api, here.location_id, day)
    held = await hold(api, first["id"], "+971501110001")
    confirmed = await hold(api, second["id"], "+971501110002")
    done = await api.post(f"/v1/bookings/{confirmed['id']}/confirm", token=DESK)
    assert done.json["booking"]["status"] == "confirmed"
    assert (await exposed(api, here.location_id, day))["total_available"] == 4

    retired = await api.patch(
        f"/admin/v1/people/{here.person_id}", token=MANAGER, json={"active": False}
    )

    assert retired.status == 200, retired.json
    assert retired.json["person"]["active"] is False
    assert retired.json["blocked_slots"] == 12
    assert sorted(retired.json["conflicting_booking_ids"]) == sorted([held["id"], confirmed["id"]])
    assert await _statuses(db, here.person_id) == ["blocked"] * 12
    kept = await db.fetch(
        "SELECT status FROM bookings WHERE id = ANY($1::uuid[]) ORDER BY status",
        [held["id"], confirmed["id"]],
    )
    assert [r["status"] for r in kept] == ["confirmed", "held"]
    for shown in (
        await exposed(api, here.location_id, day),
        await exposed(api, here.location_id, day, here.person_id),
    ):
        assert (shown["slots"], shown["total_available"]) == ([], 0)
    dates = await api.get(
        "/v1/dates", token=token(["user"]), params={"location_id": here.location_id}
    )
    assert dates.json["dates"] == []


async def test_a_deactivated_persons_slots_cannot_be_held_but_their_hold_can_be_confirmed(
    api: Api, worker: dramatiq.Worker
) -> None:
    here = await place(api)
    first, second, *_ = await staff_slots(api, here.location_id, here.days[0])
    held = await hold(api, first["id"], "+971501110003")
    await api.patch(f"/admin/v1/people/{here.person_id}", token=ADMIN, json={"active": False})
    body = {"slot_id": second["id"], "customer": {"name": "Late", "phone": "+971501110004"}}
    refused = await api.post("/v1/bookings", token=DESK, json=body)
    assert (refused.status, refused.code) == (409, "SLOT_UNAVAILABLE")
    confirmed = await api.post(f"/v1/bookings/{held['id']}/confirm", token=DESK)
    assert confirmed.json["booking"]["status"] == "confirmed"


async def test_generation_reopens_nothing_until_the_person_is_active_again(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api)
    first = (await staff_slots(api, here.location_id, here.days[0]))[0]
    await hold(api, first["id"], "+971501110005")
    path = f"/admin/v1/people/{here.person_id}"
    await api.patch(path, token=ADMIN, json={"active": False})
    again = await generate(api, here.location_id, here.days[0], here.days[-1])
    assert (again["created"], again["blocked"]) == (0, 0)
    assert await _statuses(db, here.person_id) == ["blocked"] * 12

    revived = await api.patch(path, token=ADMIN, json={"active": True})

    assert revived.status == 200
    assert revived.json["person"]["active"] is True
    assert "blocked_slots" not in revived.json
    result = await finished(api, revived.json["job"]["id"])
    assert result["created"] == 0
    assert await _statuses(db, here.person_id) == ["full"] + ["open"] * 11
    assert (await exposed(api, here.location_id, here.days[1]))["total_available"] == 6


async def test_deactivating_a_location_closes_every_slot_there(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    here = await place(api, person=False)
    day = here.days[0]
    assert (await exposed(api, here.location_id, day))["total_available"] == 6
    first = (await staff_slots(api, here.location_id, day))[0]
    held = await hold(api, first["id"], "+971501110006")

    retired = await api.patch(
        f"/admin/v1/locations/{here.location_id}", token=ADMIN, json={"active": False}
    )

    assert retired.status == 200, retired.json
    assert retired.json["location"]["active"] is False
    assert retired.json["blocked_slots"] == 12
    assert retired.json["conflicting_booking_ids"] == [held["id"]]
    assert (await exposed(api, here.location_id, day))["slots"] == []
    statuses = await db.fetch(
        "SELECT DISTINCT status FROM slot_instances WHERE location_id = $1",
        uuid.UUID(here.location_id),
    )
    assert [r["status"] for r in statuses] == ["blocked"]
    again = await generate(api, here.location_id, here.days[0], here.days[-1])
    assert again["created"] == 0
    inactive = await api.get("/admin/v1/locations", token=ADMIN, params={"active": "false"})
    assert [item["id"] for item in inactive.json["items"]] == [here.location_id]


async def test_patching_a_person_keeps_what_is_omitted(api: Api) -> None:
    location = await _location(api)
    body = {"location_id": location["id"], "name": "Ann", "skills": ["xray"]}
    person = (await created(api, "/admin/v1/people", body))["person"]
    path = f"/admin/v1/people/{person['id']}"
    changed = await api.patch(path, token=MANAGER, json={"skills": ["mri", " blood ", "mri"]})
    assert changed.status == 200
    assert changed.json == {"person": {**person, "skills": ["blood", "mri"]}}
    renamed = await api.patch(path, token=MANAGER, json={"name": "Anna"})
    assert renamed.json["person"] == {**person, "name": "Anna", "skills": ["blood", "mri"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"skills": [" "]}, "skills"),
        ({"skills": None}, "skills"),
        ({"location_id": str(uuid.uuid4())}, "location_id"),
    ],
)
async def test_a_bad_person_patch_is_422_naming_the_field_and_changes_nothing(
    api: Api, db: asyncpg.Connection, body: dict, field: str
) -> None:
    location = await _location(api)
    person = (
        await created(api, "/admin/v1/people", {"location_id": location["id"], "name": "Ann"})
    )["person"]
    response = await api.patch(
        f"/admin/v1/people/{person['id']}", token=ADMIN, json={"active": False, **body}
    )
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
    assert [f["field"] for f in response.json["error"]["details"]["fields"]] == [field]
    row = await db.fetchrow(
        "SELECT name, active FROM people WHERE id = $1", uuid.UUID(person["id"])
    )
    assert dict(row) == {"name": "Ann", "active": True}


@pytest.mark.parametrize("kind", ["locations", "people"])
async def test_patching_something_unknown_is_404(api: Api, kind: str) -> None:
    for missing in (str(uuid.uuid4()), "nope"):
        response = await api.patch(f"/admin/v1/{kind}/{missing}", token=ADMIN, json={})
        assert (response.status, response.code) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("scheduler", 403), ("frontdesk", 403), ("user", 403)],
)
async def test_role_matrix_for_changing_locations_and_people(
    api: Api, role: str, status: int
) -> None:
    location = await _location(api)
    person = (
        await created(api, "/admin/v1/people", {"location_id": location["id"], "name": "Ann"})
    )["person"]
    bearer = token([role])
    body = {"name": "Renamed"}
    assert (
        await api.patch(f"/admin/v1/locations/{location['id']}", token=bearer, json=body)
    ).status == status
    assert (
        await api.patch(f"/admin/v1/people/{person['id']}", token=bearer, json=body)
    ).status == status


async def test_every_change_is_in_the_audit_log_with_its_actor(api: Api) -> None:
    location = await _location(api)
    actor = "manager-7"
    path = f"/admin/v1/locations/{location['id']}"
    await api.patch(path, token=token(["manager"], subject=actor), json={"active": False})
    trail = await api.get(
        "/admin/v1/audit",
        token=ADMIN,
        params={"target_type": "location", "target_id": location["id"]},
    )
    entry = trail.json["items"][0]
    assert (entry["action"], entry["actor"]) == ("location.updated", actor)
    assert entry["details"] == {
        "changed": {"active": False},
        "blocked_slots": 0,
        "conflicting_booking_ids": [],
    }
    assert entry["location_id"] == location["id"]
    assert dt.datetime.fromisoformat(entry["created_at"]).tzinfo is not None
