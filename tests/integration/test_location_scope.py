"""Location scope on every admin endpoint: a Dubai token sees Dubai and nothing else.

A token limited to some locations (a product's `location_ids` claim, or its staff
account's scope) gets lists filtered to them and 404 for any other location's object
or any query naming one, and changes nothing there. Booking changes are checked in
the web before they are queued and again by the worker that applies them.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import dramatiq
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from common.ids import new_id
from common.pii import PiiKeys
from common.settings import Settings
from db.bookings import apply_change
from db.engine import create_engine
from domain.commands import Change
from domain.errors import ErrorCode
from tests.support.api import Api, token
from tests.support.lifecycle import ADMIN, DESK, Place, created, finished, hold, place, weekly
from tests.support.lifecycle import slots as staff_slots


@dataclass
class City:
    place: Place
    rule_id: str
    job_id: str
    slot_ids: list[str]
    booking_id: str


@dataclass
class World:
    dubai: City
    new_york: City


async def _city(api: Api, phone: str, timezone: str) -> City:
    here = await place(api, timezone=timezone)
    rules = await api.get(
        "/admin/v1/availabilities", token=ADMIN, params={"location_id": here.location_id}
    )
    body = {"location_id": here.location_id, "from": str(here.days[0]), "to": str(here.days[0])}
    job = (await created(api, "/admin/v1/slots/generate", body))["job"]["id"]
    await finished(api, job)
    slot_ids = [s["id"] for s in await staff_slots(api, here.location_id, here.days[0])]
    booking = await hold(api, slot_ids[0], phone)
    return City(here, rules.json["items"][0]["id"], job, slot_ids, booking["id"])


@pytest.fixture
async def world(api: Api, worker: dramatiq.Worker) -> World:
    return World(
        await _city(api, "+971503330001", "Asia/Dubai"),
        await _city(api, "+12125550100", "America/New_York"),
    )


def _scoped(*cities: City, roles: tuple[str, ...] = ("admin",)) -> str:
    return token(list(roles), extra={"location_ids": [c.place.location_id for c in cities]})


async def _rows_of(db: asyncpg.Connection, city: City) -> dict[str, list]:
    """Everything stored about the city's location, to show nothing there changed."""
    location = uuid.UUID(city.place.location_id)
    queries = {
        "locations": "SELECT * FROM locations WHERE id = $1",
        "people": "SELECT * FROM people WHERE location_id = $1 ORDER BY id",
        "rules": "SELECT * FROM availability_rules WHERE location_id = $1 ORDER BY id",
        "slots": "SELECT * FROM slot_instances WHERE location_id = $1 ORDER BY id",
        "bookings": "SELECT * FROM bookings WHERE location_id = $1 ORDER BY id",
        "jobs": "SELECT * FROM jobs WHERE params->>'location_id' = CAST($1 AS uuid)::text"
        " ORDER BY id",
    }
    return {name: [dict(r) for r in await db.fetch(sql, location)] for name, sql in queries.items()}


async def test_lists_show_only_the_locations_in_scope(api: Api, world: World) -> None:
    dubai = world.dubai
    bearer = _scoped(dubai)
    lists = {
        "/admin/v1/locations": "id",
        "/admin/v1/people": "location_id",
        "/admin/v1/availabilities": "location_id",
        "/admin/v1/bookings": "location_id",
        "/admin/v1/audit": "location_id",
    }
    for path, field in lists.items():
        response = await api.get(path, token=bearer)
        assert response.status == 200, (path, response.json)
        found = {item[field] for item in response.json["items"]}
        assert found == {dubai.place.location_id}, path
    slots = await staff_slots(api, dubai.place.location_id, dubai.place.days[0], bearer)
    assert [s["id"] for s in slots] == dubai.slot_ids
    job = await api.get(f"/admin/v1/jobs/{dubai.job_id}", token=bearer)
    assert job.status == 200


async def test_an_empty_scope_sees_nothing(api: Api, world: World) -> None:
    bearer = _scoped()
    for path in ("/admin/v1/locations", "/admin/v1/people", "/admin/v1/bookings"):
        response = await api.get(path, token=bearer)
        assert (response.status, response.json["items"]) == (200, [])


async def test_another_locations_objects_and_queries_are_404_and_change_nothing(
    api: Api, world: World, db: asyncpg.Connection
) -> None:
    there = world.new_york
    bearer = _scoped(world.dubai)
    location_id, person_id = there.place.location_id, there.place.person_id
    before = await _rows_of(db, there)
    requests = [
        ("GET", "/admin/v1/people", {"location_id": location_id}, None),
        ("GET", "/admin/v1/availabilities", {"location_id": location_id}, None),
        ("GET", "/admin/v1/bookings", {"location_id": location_id}, None),
        ("GET", "/admin/v1/slots", {"location_id": location_id}, None),
        ("GET", f"/admin/v1/jobs/{there.job_id}", None, None),
        ("GET", f"/admin/v1/availabilities/{there.rule_id}", None, None),
        ("PATCH", f"/admin/v1/availabilities/{there.rule_id}", None, {"slot_capacity": 5}),
        ("DELETE", f"/admin/v1/availabilities/{there.rule_id}", None, None),
        ("PATCH", f"/admin/v1/locations/{location_id}", None, {"active": False}),
        ("PATCH", f"/admin/v1/people/{person_id}", None, {"active": False}),
        ("POST", "/admin/v1/people", None, {"location_id": location_id, "name": "Spy"}),
        ("POST", "/admin/v1/availabilities", None, weekly(location_id, days_of_week=[1])),
        (
            "POST",
            "/admin/v1/slots/generate",
            None,
            {
                "location_id": location_id,
                "from": str(there.place.days[0]),
                "to": str(there.place.days[0]),
            },
        ),
        ("PATCH", f"/admin/v1/bookings/{there.booking_id}", None, {"action": "cancel"}),
        (
            "POST",
            "/v1/bookings",
            None,
            {"slot_id": there.slot_ids[1], "customer": {"name": "Spy", "phone": "+12125550199"}},
        ),
    ]
    for method, path, params, body in requests:
        response = await api.request(method, path, token=bearer, params=params, json=body)
        assert (response.status, response.code) == (404, "NOT_FOUND"), (method, path)
    refused = await api.post("/admin/v1/locations", token=bearer, json={"name": "Mine"})
    assert (refused.status, refused.code) == (403, "FORBIDDEN")
    assert await _rows_of(db, there) == before


async def test_a_dubai_frontdesk_cannot_move_a_dubai_booking_to_new_york(
    api: Api, world: World, db: asyncpg.Connection
) -> None:
    desk = _scoped(world.dubai, roles=("frontdesk",))
    path = f"/admin/v1/bookings/{world.dubai.booking_id}"
    before = await _rows_of(db, world.dubai), await _rows_of(db, world.new_york)
    away = {"action": "reschedule", "slot_id": world.new_york.slot_ids[1]}
    refused = await api.patch(path, token=desk, json=away)
    assert (refused.status, refused.code) == (404, "NOT_FOUND")
    assert (await _rows_of(db, world.dubai), await _rows_of(db, world.new_york)) == before
    within = {"action": "reschedule", "slot_id": world.dubai.slot_ids[1]}
    moved = await api.patch(path, token=desk, json=within)
    assert moved.status == 200, moved.json
    assert moved.json["booking"]["slot_id"] == world.dubai.slot_ids[1]


async def test_a_scoped_frontdesk_cancels_bookings_of_its_own_location(
    api: Api, world: World
) -> None:
    desk = _scoped(world.dubai, roles=("frontdesk",))
    cancelled = await api.patch(
        f"/admin/v1/bookings/{world.dubai.booking_id}", token=desk, json={"action": "cancel"}
    )
    assert cancelled.json["booking"]["status"] == "cancelled"


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


def _change(booking_id: str, scope: City, kind: str = "cancel", slot_id: str | None = None):
    return Change(
        command_id=str(new_id()),
        kind=kind,
        booking_id=booking_id,
        owner=None,
        subject="desk-dubai",
        key=str(uuid.uuid4()),
        digest="d",
        reply_to="nobody",
        slot_id=slot_id,
        location_ids=[scope.place.location_id],
    )


async def test_the_worker_refuses_a_queued_change_outside_its_scope(
    world: World, engine: AsyncEngine, settings: Settings, db: asyncpg.Connection
) -> None:
    """What the web could not check (a hold still queued when the change came) the worker
    checks in the transaction that decides."""
    pii = PiiKeys.parse(settings.pii_key)
    before = await _rows_of(db, world.dubai), await _rows_of(db, world.new_york)
    changes = [
        _change(world.new_york.booking_id, world.dubai),
        _change(
            world.dubai.booking_id,
            world.dubai,
            kind="reschedule",
            slot_id=world.new_york.slot_ids[1],
        ),
    ]
    for change in changes:
        async with engine.begin() as conn:
            result = await apply_change(conn, change, pii, 60, 600)
        assert result.outcome.code is ErrorCode.NOT_FOUND
    assert (await _rows_of(db, world.dubai), await _rows_of(db, world.new_york)) == before


async def test_a_staff_accounts_scope_limits_its_login_tokens(api: Api, world: World) -> None:
    body = {
        "email": "desk@example.org",
        "password": "correct horse battery",
        "roles": ["frontdesk"],
        "location_ids": [world.dubai.place.location_id],
    }
    await created(api, "/admin/v1/staff", body)
    login = await api.post(
        "/auth/token", json={"email": body["email"], "password": body["password"]}
    )
    bearer = login.json["access_token"]
    listed = await api.get("/admin/v1/bookings", token=bearer)
    assert [b["id"] for b in listed.json["items"]] == [world.dubai.booking_id]
    other = await api.patch(
        f"/admin/v1/bookings/{world.new_york.booking_id}", token=bearer, json={"action": "cancel"}
    )
    assert other.status == 404
    both = await api.get("/admin/v1/bookings", token=DESK)
    assert len(both.json["items"]) == 2
