"""Availability reads over HTTP: exposed slots, dates with availability, the staff day view."""

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from prometheus_client import REGISTRY

from common.ids import new_id
from tests.support import rows
from tests.support.api import Api, token
from web.availability_cache import AVAILABILITY_CACHE

DUBAI = ZoneInfo("Asia/Dubai")
DAY = dt.datetime.now(DUBAI).date() + dt.timedelta(days=5)
# Caches learn of a commit through NOTIFY, which arrives a moment after the commit.
PROPAGATION_SECONDS = 2


_location = rows.location
_person = rows.person


async def _slot(
    db: asyncpg.Connection, location_id: uuid.UUID, at: dt.datetime, **details: object
) -> uuid.UUID:
    """A slot starting `at`, dated in Dubai, the tests' zone."""
    return await rows.slot(
        db,
        location_id,
        start=at,
        day=at.astimezone(DUBAI).date(),
        **details,  # type: ignore[arg-type]
    )


async def _hold(db: asyncpg.Connection, slot_id: uuid.UUID, expires_in: dt.timedelta) -> None:
    slot = await db.fetchrow(
        "UPDATE slot_instances SET hold = hold + 1 WHERE id = $1 RETURNING location_id, person_id",
        slot_id,
    )
    await db.execute(
        "INSERT INTO bookings (id, slot_id, location_id, person_id, user_id, customer_name,"
        " customer_phone, phone_hash, status, hold_expires_at)"
        " VALUES ($1, $2, $3, $4, 'u', 'C', 'cipher', $5, 'held', now() + $6)",
        new_id(),
        slot_id,
        slot["location_id"],
        slot["person_id"],
        uuid.uuid4().hex,
        expires_in,
    )


def _at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=DUBAI)


async def _day_of_slots(db: asyncpg.Connection, location_id: uuid.UUID) -> list[uuid.UUID]:
    """Twelve slots spread over the morning, afternoon and evening."""
    times = [(h, m) for h in (8, 9, 10, 13, 14, 18) for m in (0, 30)]
    return [await _slot(db, location_id, _at(h, m)) for h, m in times]


async def _exposed(api: Api, visitor: str, **params: str) -> dict:
    response = await api.get("/v1/slots", token=visitor, params={"date": str(DAY), **params})
    assert response.status == 200, response.json
    return response.json


def _ids(body: dict) -> list[str]:
    return [slot["id"] for slot in body["slots"]]


async def test_same_visitor_sees_the_same_slots_twice(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    await _day_of_slots(db, location_id)
    visitor = token(["user"])
    first = await _exposed(api, visitor, location_id=str(location_id))
    second = await _exposed(api, visitor, location_id=str(location_id))
    assert _ids(first) == _ids(second)
    assert 3 <= len(first["slots"]) <= 5
    assert first["total_available"] == 12
    assert first["has_more"] is True
    assert first["variant"] == "control"
    assert [s["start_at"] for s in first["slots"]] == sorted(s["start_at"] for s in first["slots"])


async def test_exposed_slot_has_the_contract_fields(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    person_id = await _person(db, location_id)
    slot_id = await _slot(db, location_id, _at(9), person_id=person_id, capacity=2)
    body = await _exposed(api, token(["user"]), location_id=str(location_id))
    assert body["date"] == str(DAY)
    assert body["timezone"] == "Asia/Dubai"
    assert body["slots"] == [
        {
            "id": str(slot_id),
            "location_id": str(location_id),
            "person_id": str(person_id),
            "start_at": f"{DAY}T09:00:00+04:00",
            "end_at": f"{DAY}T09:30:00+04:00",
            "remaining": 2,
        }
    ]
    assert body["has_more"] is False


async def test_taken_slot_is_dropped_from_the_cached_set(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    await _day_of_slots(db, location_id)
    visitor = token(["user"])
    first = _ids(await _exposed(api, visitor, location_id=str(location_id)))
    await db.execute(
        "UPDATE slot_instances SET booked = 1, status = 'full' WHERE id = $1", uuid.UUID(first[0])
    )
    # The cache drops its entry when the commit's notification arrives: poll until it has.
    deadline = asyncio.get_running_loop().time() + PROPAGATION_SECONDS
    second = await _exposed(api, visitor, location_id=str(location_id))
    while first[0] in _ids(second):
        assert asyncio.get_running_loop().time() < deadline, "the taken slot stayed exposed"
        await asyncio.sleep(0.01)
        second = await _exposed(api, visitor, location_id=str(location_id))
    assert _ids(second) == first[1:]
    assert second["total_available"] == 11


async def test_emptied_set_is_recomputed_from_what_is_left(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    await _day_of_slots(db, location_id)
    visitor = token(["user"])
    first = _ids(await _exposed(api, visitor, location_id=str(location_id)))
    await db.execute(
        "UPDATE slot_instances SET booked = 1, status = 'full' WHERE id = ANY($1::uuid[])", first
    )
    # The web learns of the change by a notification sent at commit: poll until it has.
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        second = _ids(await _exposed(api, visitor, location_id=str(location_id)))
        if not set(second) & set(first):
            break
        assert asyncio.get_running_loop().time() < deadline, "the taken slots stayed exposed"
        await asyncio.sleep(0.02)
    assert len(second) >= 3


async def test_expired_hold_counts_as_free_before_the_expiry_job(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    slot_id = await _slot(db, location_id, _at(9))
    await _hold(db, slot_id, dt.timedelta(seconds=-1))
    body = await _exposed(api, token(["user"]), location_id=str(location_id))
    assert _ids(body) == [str(slot_id)]
    assert body["slots"][0]["remaining"] == 1


async def test_active_hold_takes_the_slot(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    slot_id = await _slot(db, location_id, _at(9))
    await _hold(db, slot_id, dt.timedelta(minutes=10))
    body = await _exposed(api, token(["user"]), location_id=str(location_id))
    assert body["slots"] == []
    assert body["total_available"] == 0


async def test_blocked_full_and_past_slots_are_not_exposed(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    today = dt.datetime.now(DUBAI).date()
    await _slot(db, location_id, _at(9), status="blocked")
    await _slot(db, location_id, _at(10), status="full", booked=1)
    await _slot(db, location_id, dt.datetime.now(DUBAI) - dt.timedelta(minutes=1))
    body = await _exposed(api, token(["user"]), location_id=str(location_id))
    assert body["total_available"] == 0
    past = await api.get(
        "/v1/slots",
        token=token(["user"]),
        params={"location_id": str(location_id), "date": str(today)},
    )
    assert past.json["total_available"] == 0


@pytest.mark.parametrize(("header", "applied"), [("wide", "wide"), ("nope", "control")])
async def test_variant_header_selects_a_known_variant_else_control(
    api: Api, db: asyncpg.Connection, header: str, applied: str
) -> None:
    location_id = await _location(db)
    await _day_of_slots(db, location_id)
    response = await api.get(
        "/v1/slots",
        token=token(["user"]),
        params={"location_id": str(location_id), "date": str(DAY)},
        headers={"X-Exposure-Variant": header},
    )
    assert response.json["variant"] == applied


async def test_timezone_changes_rendering(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    await _slot(db, location_id, _at(9))
    body = await _exposed(api, token(["user"]), location_id=str(location_id), timezone="UTC")
    assert body["timezone"] == "UTC"
    assert body["slots"][0]["start_at"] == f"{DAY}T05:00:00+00:00"


async def test_timezone_moves_the_dates_boundaries(api: Api, db: asyncpg.Connection) -> None:
    """02:00 in Dubai on the next day is 22:00 UTC on DAY."""
    location_id = await _location(db)
    late = await _slot(db, location_id, _at(2, day=DAY + dt.timedelta(days=1)))
    in_utc = await _exposed(api, token(["user"]), location_id=str(location_id), timezone="UTC")
    in_dubai = await _exposed(api, token(["user"]), location_id=str(location_id))
    assert _ids(in_utc) == [str(late)]
    assert in_dubai["total_available"] == 0


async def test_bad_timezone_is_422_and_unknown_parameter_is_400(api: Api, db: asyncpg.Connection):
    location_id = str(await _location(db))
    visitor = token(["user"])
    bad_zone = await api.get(
        "/v1/slots", token=visitor, params={"location_id": location_id, "timezone": "Mars/Base"}
    )
    unknown = await api.get(
        "/v1/slots", token=visitor, params={"location_id": location_id, "color": "red"}
    )
    assert (bad_zone.status, bad_zone.code) == (422, "VALIDATION_ERROR")
    assert (unknown.status, unknown.code) == (400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("path", "role"), [("/v1/slots", "user"), ("/v1/dates", "user"), ("/admin/v1/slots", "admin")]
)
async def test_unknown_location_or_person_elsewhere_is_404(
    api: Api, db: asyncpg.Connection, path: str, role: str
) -> None:
    here = await _location(db)
    elsewhere = await _person(db, await _location(db))
    visitor = token([role])
    for params in (
        {"location_id": str(new_id())},
        {"location_id": str(here), "person_id": str(elsewhere)},
    ):
        for zone_param in ({}, {"timezone": "UTC"}):
            response = await api.get(path, token=visitor, params={**params, **zone_param})
            assert (response.status, response.code) == (404, "NOT_FOUND")


async def test_slots_need_a_token(api: Api, db: asyncpg.Connection) -> None:
    response = await api.get("/v1/slots", params={"location_id": str(await _location(db))})
    assert response.status == 401


async def test_booking_a_persons_slot_takes_their_overlapping_slots(
    api: Api, db: asyncpg.Connection
) -> None:
    location_id = await _location(db)
    person_id = await _person(db, location_id)
    other_id = await _person(db, location_id)
    before, taken, after, later = [
        await _slot(db, location_id, _at(9, m), person_id=person_id) for m in (0, 15, 30, 45)
    ]
    others = await _slot(db, location_id, _at(9, 15), person_id=other_id)
    room = await _slot(db, location_id, _at(9, 15))
    await db.execute("UPDATE slot_instances SET booked = 1, status = 'full' WHERE id = $1", taken)
    body = await _exposed(api, token(["user"]), location_id=str(location_id))
    assert body["total_available"] == 3
    assert set(_ids(body)) == {str(later), str(others), str(room)}
    staff = await api.get(
        "/admin/v1/slots",
        token=token(["frontdesk"]),
        params={"location_id": str(location_id), "person_id": str(person_id), "date": str(DAY)},
    )
    remaining = {item["id"]: item["remaining"] for item in staff.json["items"]}
    assert remaining == {str(before): 0, str(taken): 0, str(after): 0, str(later): 1}


async def test_person_scope_shows_one_to_three_of_their_slots(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    person_id = await _person(db, location_id)
    mine = {str(await _slot(db, location_id, _at(h), person_id=person_id)) for h in range(8, 16)}
    await _slot(db, location_id, _at(9))
    body = await _exposed(
        api, token(["user"]), location_id=str(location_id), person_id=str(person_id)
    )
    assert 1 <= len(body["slots"]) <= 3
    assert set(_ids(body)) <= mine
    assert body["total_available"] == 8


async def test_dates_count_available_slots_per_local_date(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    next_day = DAY + dt.timedelta(days=1)
    await _slot(db, location_id, _at(9))
    await _slot(db, location_id, _at(10))
    await _slot(db, location_id, _at(11), status="full", booked=1)
    await _slot(db, location_id, _at(9, day=next_day), status="blocked")
    await _slot(db, location_id, _at(2, day=DAY + dt.timedelta(days=2)))
    response = await api.get(
        "/v1/dates",
        token=token(["user"]),
        params={
            "location_id": str(location_id),
            "from": str(DAY),
            "to": str(DAY + dt.timedelta(days=3)),
        },
    )
    assert response.status == 200
    assert response.json == {
        "timezone": "Asia/Dubai",
        "dates": [
            {"date": str(DAY), "available": 2},
            {"date": str(DAY + dt.timedelta(days=2)), "available": 1},
        ],
    }
    in_utc = await api.get(
        "/v1/dates",
        token=token(["user"]),
        params={"location_id": str(location_id), "from": str(DAY), "timezone": "UTC"},
    )
    assert in_utc.json["dates"][-1] == {"date": str(DAY + dt.timedelta(days=1)), "available": 1}


async def test_dates_default_to_thirty_days_from_today(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    today = dt.datetime.now(DUBAI).date()
    await _slot(db, location_id, _at(23, day=today + dt.timedelta(days=30)))
    await _slot(db, location_id, _at(9, day=today + dt.timedelta(days=31)))
    response = await api.get(
        "/v1/dates", token=token(["user"]), params={"location_id": str(location_id)}
    )
    assert response.json["dates"] == [{"date": str(today + dt.timedelta(days=30)), "available": 1}]


@pytest.mark.parametrize(("span", "status"), [(90, 200), (91, 422), (-1, 422)])
async def test_dates_span_at_most_ninety_days(
    api: Api, db: asyncpg.Connection, span: int, status: int
) -> None:
    location_id = await _location(db)
    params = {
        "location_id": str(location_id),
        "from": str(DAY),
        "to": str(DAY + dt.timedelta(days=span)),
    }
    response = await api.get("/v1/dates", token=token(["user"]), params=params)
    assert response.status == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("scheduler", 200), ("frontdesk", 200), ("user", 403)],
)
async def test_role_matrix_for_staff_slots(
    api: Api, db: asyncpg.Connection, role: str, status: int
) -> None:
    location_id = await _location(db)
    response = await api.get(
        "/admin/v1/slots", token=token([role]), params={"location_id": str(location_id)}
    )
    assert response.status == status


async def test_staff_slots_list_every_slot_with_usage(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    held = await _slot(db, location_id, _at(9), capacity=3, booked=1)
    await _hold(db, held, dt.timedelta(minutes=10))
    await _hold(db, held, dt.timedelta(seconds=-5))
    blocked = await _slot(db, location_id, _at(8), status="blocked")
    response = await api.get(
        "/admin/v1/slots",
        token=token(["frontdesk"]),
        params={"location_id": str(location_id), "date": str(DAY)},
    )
    assert response.status == 200
    first, second = response.json["items"]
    assert (first["id"], first["status"], first["remaining"]) == (str(blocked), "blocked", 1)
    assert second == {
        "id": str(held),
        "location_id": str(location_id),
        "person_id": None,
        "start_at": f"{DAY}T09:00:00+04:00",
        "end_at": f"{DAY}T09:30:00+04:00",
        "capacity": 3,
        "booked": 1,
        "held": 1,
        "remaining": 1,
        "status": "open",
    }


async def test_exposure_is_recorded_by_scope_and_variant(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    await _day_of_slots(db, location_id)
    labels = {"scope": "location", "variant": "control"}

    def observed() -> float:
        return REGISTRY.get_sample_value("exposed_slots_count_count", labels) or 0.0

    before = observed()
    await _exposed(api, token(["user"]), location_id=str(location_id))
    assert observed() == before + 1


async def test_availability_cache_listens_for_slot_changes(api: Api) -> None:
    assert api.client.app[AVAILABILITY_CACHE].listening


async def test_change_from_another_connection_is_seen_promptly(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    slot_id = await _slot(db, location_id, _at(9))
    visitor = token(["user"])
    assert (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] == 1
    await db.execute("UPDATE slot_instances SET status = 'blocked' WHERE id = $1", slot_id)
    deadline = asyncio.get_running_loop().time() + PROPAGATION_SECONDS
    while (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] != 0:
        assert asyncio.get_running_loop().time() < deadline, "the change was never seen"
        await asyncio.sleep(0.01)


async def test_lapsing_hold_frees_the_slot_without_any_write(api: Api, db: asyncpg.Connection):
    location_id = await _location(db)
    slot_id = await _slot(db, location_id, _at(9))
    await _hold(db, slot_id, dt.timedelta(seconds=3))
    visitor = token(["user"])
    assert (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] == 0
    deadline = asyncio.get_running_loop().time() + 8
    while (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] == 0:
        assert asyncio.get_running_loop().time() < deadline, "the lapsed hold still counts"
        await asyncio.sleep(0.1)


async def test_dates_follow_a_change_promptly(api: Api, db: asyncpg.Connection) -> None:
    location_id = await _location(db)
    slot_id = await _slot(db, location_id, _at(9))
    params = {"location_id": str(location_id), "from": str(DAY)}
    first = await api.get("/v1/dates", token=token(["user"]), params=params)
    assert first.json["dates"] == [{"date": str(DAY), "available": 1}]
    await db.execute("UPDATE slot_instances SET booked = 1, status = 'full' WHERE id = $1", slot_id)
    deadline = asyncio.get_running_loop().time() + PROPAGATION_SECONDS
    while (await api.get("/v1/dates", token=token(["user"]), params=params)).json["dates"]:
        assert asyncio.get_running_loop().time() < deadline, "the change was never seen"
        await asyncio.sleep(0.01)


async def _until(condition, what: str, seconds: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def test_reads_stay_fresh_while_the_listener_is_down_and_caching_resumes(
    api: Api, db: asyncpg.Connection
) -> None:
    cache = api.client.app[AVAILABILITY_CACHE]
    location_id = await _location(db)
    slot_id = await _slot(db, location_id, _at(9))
    visitor = token(["user"])
    assert (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] == 1
    listener = cache._connection.get_server_pid()
    await db.execute("SELECT pg_terminate_backend($1)", listener)
    await _until(lambda: not cache.listening, "the lost listener went unnoticed")
    await db.execute("UPDATE slot_instances SET status = 'blocked' WHERE id = $1", slot_id)
    assert (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] == 0
    await _until(lambda: cache.listening, "the listener did not reconnect")
    await db.execute("UPDATE slot_instances SET status = 'open' WHERE id = $1", slot_id)
    assert (await _exposed(api, visitor, location_id=str(location_id)))["total_available"] == 1
