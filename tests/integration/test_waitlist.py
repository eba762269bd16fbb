"""The waitlist (contract §10) over HTTP with real workers: joining, leaving, and freed places
offered first come, first served, in the transaction that frees them."""

import asyncio
import datetime as dt
import uuid

import asyncpg
import dramatiq
import pytest
import redis

from actors.expiry import expire_holds
from common.settings import Settings
from db.invariants import violations
from tests.support import rows
from tests.support.api import Api, Response, token
from tests.support.exposure import expose

WAIT_SECONDS = 20


def _phone(n: int) -> str:
    return f"+97155{n:07d}"


def _day(instant: dt.datetime) -> dt.date:
    """The date in Dubai, the zone of `rows.location`."""
    return (instant + dt.timedelta(hours=4)).date()


async def _join(
    api: Api, visitor: str, location: uuid.UUID, day: dt.date, n: int = 0, **extra: str
) -> Response:
    body = {
        "location_id": str(location),
        "date": day.isoformat(),
        "customer": {"name": f"Waiting {n}", "phone": _phone(n), "email": "wait@example.org"},
        **extra,
    }
    return await api.post("/v1/waitlist", token=visitor, json=body)


async def _walk_in(api: Api, slot: uuid.UUID, phone: str = "+971501234567") -> Response:
    body = {"slot_id": str(slot), "customer": {"name": "Walk-in", "phone": phone}}
    return await api.post("/v1/bookings", token=token(["frontdesk"]), json=body)


async def _cancel(api: Api, booking_id: str) -> Response:
    return await api.patch(
        f"/admin/v1/bookings/{booking_id}", token=token(["frontdesk"]), json={"action": "cancel"}
    )


async def _statuses(db: asyncpg.Connection) -> list[str]:
    return [r["status"] for r in await db.fetch("SELECT status FROM waitlist_entries ORDER BY seq")]


async def _offers(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'waitlist.offered'")


async def _until(check, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


@pytest.fixture
async def location(db: asyncpg.Connection) -> uuid.UUID:
    return await rows.location(db)


async def test_joining_answers_waiting_with_a_position_and_a_manage_token(
    api: Api, location: uuid.UUID, db: asyncpg.Connection
) -> None:
    day = _day(rows.SOON)
    first, second = token(["user"]), token(["user"])
    one = await _join(api, first, location, day, 1, from_time="09:00", to_time="12:00")
    two = await _join(api, second, location, day, 2)
    assert one.status == 201, one.json
    entry = one.json["waitlist_entry"]
    assert (entry["status"], entry["position"]) == ("waiting", 1)
    assert (entry["from_time"], entry["to_time"]) == ("09:00", "12:00")
    assert len(entry["manage_token"]) >= 22  # at least 128 bits, URL-safe
    assert two.json["waitlist_entry"]["position"] == 2

    mine = await api.get(f"/v1/waitlist/{entry['id']}", token=first)
    assert mine.json["waitlist_entry"]["position"] == 1
    assert mine.json["waitlist_entry"]["customer"]["phone"] == _phone(1)
    assert (
        "manage_token" not in mine.json["waitlist_entry"]
        or not mine.json["waitlist_entry"]["manage_token"]
    )
    assert (await api.get(f"/v1/waitlist/{entry['id']}", token=second)).status == 404

    listed = await api.get(
        "/admin/v1/waitlist",
        token=token(["frontdesk"]),
        params={"location_id": str(location), "date": day.isoformat(), "limit": 1},
    )
    assert [e["id"] for e in listed.json["items"]] == [entry["id"]]
    rest = await api.get(
        "/admin/v1/waitlist",
        token=token(["frontdesk"]),
        params={
            "location_id": str(location),
            "date": day.isoformat(),
            "cursor": listed.json["next_cursor"],
        },
    )
    assert [e["id"] for e in rest.json["items"]] == [two.json["waitlist_entry"]["id"]]

    stored = await db.fetchrow(
        "SELECT customer_phone, customer_email, manage_token_hash FROM"
        " waitlist_entries WHERE id = $1",
        uuid.UUID(entry["id"]),
    )
    assert "501" not in stored["customer_phone"] and "@" not in stored["customer_email"]
    assert entry["manage_token"] not in stored["manage_token_hash"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_time": "12:00", "to_time": "09:00"}, "body"),
        ({"from_time": "9am"}, "from_time"),
        ({"date": "2019-01-01"}, "date"),
    ],
)
async def test_a_bad_entry_is_422_and_adds_nothing(
    api: Api, location: uuid.UUID, db: asyncpg.Connection, body: dict, field: str
) -> None:
    refused = await _join(api, token(["user"]), location, _day(rows.SOON), **body)
    assert refused.status == 422
    assert field in [f["field"] for f in refused.json["error"]["details"]["fields"]]
    assert await db.fetchval("SELECT count(*) FROM waitlist_entries") == 0


async def test_joining_for_an_unknown_location_is_404(api: Api) -> None:
    refused = await _join(api, token(["user"]), uuid.uuid4(), _day(rows.SOON))
    assert refused.status == 404


async def test_leaving_closes_up_the_queue_and_leaving_twice_answers_the_same(
    api: Api, location: uuid.UUID
) -> None:
    day = _day(rows.SOON)
    first, second = token(["user"]), token(["user"])
    one = (await _join(api, first, location, day, 1)).json["waitlist_entry"]
    two = (await _join(api, second, location, day, 2)).json["waitlist_entry"]
    left = await api.request("DELETE", f"/v1/waitlist/{one['id']}", token=first)
    assert left.status == 200
    assert left.json["waitlist_entry"]["status"] == "cancelled"
    again = await api.request("DELETE", f"/v1/waitlist/{one['id']}", token=first)
    assert again.json["waitlist_entry"]["status"] == "cancelled"
    assert (await api.request("DELETE", f"/v1/waitlist/{two['id']}", token=first)).status == 404
    moved_up = await api.get(f"/v1/waitlist/{two['id']}", token=second)
    assert moved_up.json["waitlist_entry"]["position"] == 1


async def test_two_hundred_waiting_on_a_full_slot_are_offered_it_one_at_a_time_in_order(
    api: Api,
    worker: dramatiq.Worker,
    location: uuid.UUID,
    db: asyncpg.Connection,
    settings: Settings,
) -> None:
    slot = await rows.slot(db, location)
    held = await _walk_in(api, slot)
    visitors = [token(["user"], subject=f"waiting-{n}") for n in range(200)]
    entries = [
        (await _join(api, v, location, _day(rows.SOON), n)).json["waitlist_entry"]
        for n, v in enumerate(visitors)
    ]
    assert [e["position"] for e in entries] == list(range(1, 201))

    assert (await _cancel(api, held.json["booking"]["id"])).status == 200
    assert await _statuses(db) == ["offered"] + ["waiting"] * 199
    assert await _offers(db) == 1
    offered = (await api.get(f"/v1/waitlist/{entries[0]['id']}", token=visitors[0])).json
    booking_id = offered["waitlist_entry"]["booking_id"]
    assert offered["waitlist_entry"]["hold_expires_at"] is not None
    hold = await api.get(f"/v1/bookings/{booking_id}", token=visitors[0])
    assert (hold.json["booking"]["status"], hold.json["booking"]["slot_id"]) == ("held", str(slot))
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    assert client.get(f"admit:{slot}") == "0", "the web must count the offered slot as full"
    assert (await _walk_in(api, slot, "+971509999999")).code == "SLOT_FULL"

    await db.execute(
        "UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(booking_id),
    )
    expire_holds.send()

    async def second_offered() -> bool:
        return (await _statuses(db))[:2] == ["lapsed", "offered"]

    await _until(second_offered, "the second entry was never offered")
    assert await _statuses(db) == ["lapsed", "offered"] + ["waiting"] * 198
    assert await _offers(db) == 2
    second = (await api.get(f"/v1/waitlist/{entries[1]['id']}", token=visitors[1])).json
    assert second["waitlist_entry"]["status"] == "offered"
    assert await violations(settings.database_url) == []


async def test_an_offer_is_confirmed_or_declined_through_its_booking(
    api: Api, worker: dramatiq.Worker, location: uuid.UUID, db: asyncpg.Connection
) -> None:
    first_slot = await rows.slot(db, location)
    second_slot = await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=1))
    held = [
        await _walk_in(api, s, f"+97150111000{n}") for n, s in enumerate((first_slot, second_slot))
    ]
    visitors = [token(["user"]) for _ in range(3)]
    entries = [
        (await _join(api, v, location, _day(rows.SOON), n)).json["waitlist_entry"]
        for n, v in enumerate(visitors)
    ]
    for booking in held:
        await _cancel(api, booking.json["booking"]["id"])
    assert await _statuses(db) == ["offered", "offered", "waiting"]

    def offer_of(n: int) -> str:
        return entries[n]["id"]

    first = (await api.get(f"/v1/waitlist/{offer_of(0)}", token=visitors[0])).json
    confirmed = await api.post(
        f"/v1/bookings/{first['waitlist_entry']['booking_id']}/confirm", token=visitors[0]
    )
    assert confirmed.json["booking"]["status"] == "confirmed"
    second = (await api.get(f"/v1/waitlist/{offer_of(1)}", token=visitors[1])).json
    declined = await api.post(
        f"/v1/bookings/{second['waitlist_entry']['booking_id']}/cancel", token=visitors[1]
    )
    assert declined.status == 200
    assert await _statuses(db) == ["booked", "declined", "offered"]
    offered_left = await api.request("DELETE", f"/v1/waitlist/{offer_of(2)}", token=visitors[2])
    assert offered_left.code == "INVALID_STATE"


async def test_moving_a_booking_away_offers_its_slot_to_the_waitlist(
    api: Api, worker: dramatiq.Worker, location: uuid.UUID, db: asyncpg.Connection
) -> None:
    nine = rows.SOON.replace(hour=5, minute=0, second=0)  # 09:00 in Dubai
    wanted = await rows.slot(db, location, start=nine)
    elsewhere = await rows.slot(db, location, start=nine + dt.timedelta(hours=3))
    held = await _walk_in(api, wanted)
    await _join(api, token(["user"]), location, _day(nine), from_time="09:00", to_time="10:00")
    moved = await api.patch(
        f"/admin/v1/bookings/{held.json['booking']['id']}",
        token=token(["manager"]),
        json={"action": "reschedule", "slot_id": str(elsewhere)},
    )
    assert moved.status == 200, moved.json
    assert await _statuses(db) == ["offered"]
    offer = await db.fetchval("SELECT slot_id FROM bookings WHERE waitlist_entry_id IS NOT NULL")
    assert offer == wanted


@pytest.mark.parametrize("by", ["staff", "manage link"])
async def test_a_move_into_a_free_slot_someone_waits_for_leaves_it_to_the_waitlist(
    api: Api, worker: dramatiq.Worker, location: uuid.UUID, db: asyncpg.Connection, by: str
) -> None:
    """The entry joined while 12:00 was free (the expiry run would offer it); a move there
    in the meantime is refused, as a hold would be, and the entry gets the place."""
    nine = rows.SOON.replace(hour=5, minute=0, second=0)  # 09:00 in Dubai
    held_slot = await rows.slot(db, location, start=nine)
    noon = await rows.slot(db, location, start=nine + dt.timedelta(hours=3))
    visitor = token(["user"])
    await expose(api, db, visitor, held_slot)
    customer = {"name": "Ann", "phone": "+971501234567"}
    body = {"slot_id": str(held_slot), "customer": customer}
    held = (await api.post("/v1/bookings", token=visitor, json=body)).json["booking"]
    await _join(api, token(["user"]), location, _day(nine), from_time="12:00", to_time="12:30")
    move = {"action": "reschedule", "slot_id": str(noon)}
    if by == "staff":
        moved = await api.patch(
            f"/admin/v1/bookings/{held['id']}", token=token(["manager"]), json=move
        )
    else:
        token_ = held["manage_token"]
        moved = await api.post(f"/v1/manage/{token_}/reschedule", json={"slot_id": str(noon)})
    assert (moved.status, moved.code) == (409, "SLOT_FULL")
    assert await _statuses(db) == ["offered"]
    offer = await db.fetchval("SELECT slot_id FROM bookings WHERE waitlist_entry_id IS NOT NULL")
    assert offer == noon
    assert (
        await db.fetchval("SELECT slot_id FROM bookings WHERE id = $1", uuid.UUID(held["id"]))
        == held_slot
    )


async def test_a_cancel_offers_the_neighbours_its_buffer_frees(
    api: Api, worker: dramatiq.Worker, location: uuid.UUID, db: asyncpg.Connection
) -> None:
    """The 10:00 booking kept 10:30 within its 30-minute buffer; the entry waits for 10:30
    only, and gets it in the cancel's own transaction."""
    await rows.policy(db, location, buffer_minutes=30)
    person = await rows.person(db, location)
    ten = rows.SOON.replace(hour=6, minute=0, second=0)  # 10:00 in Dubai
    booked_slot = await rows.slot(db, location, person_id=person, start=ten)
    later = await rows.slot(db, location, person_id=person, start=ten + dt.timedelta(minutes=30))
    held = await _walk_in(api, booked_slot)
    await _join(api, token(["user"]), location, _day(ten), person_id=str(person), from_time="10:30")
    assert await _statuses(db) == ["waiting"]
    assert (await _cancel(api, held.json["booking"]["id"])).status == 200
    assert await _statuses(db) == ["offered"]
    offer = await db.fetchval("SELECT slot_id FROM bookings WHERE waitlist_entry_id IS NOT NULL")
    assert offer == later


async def test_room_nobody_freed_reaches_the_waitlist_on_the_next_expiry_run(
    api: Api, worker: dramatiq.Worker, location: uuid.UUID, db: asyncpg.Connection
) -> None:
    """An entry added while its slot had room waits; the expiry run offers it."""
    await rows.slot(db, location)
    await _join(api, token(["user"]), location, _day(rows.SOON))
    assert await _statuses(db) == ["waiting"]
    expire_holds.send()

    async def offered() -> bool:
        return await _statuses(db) == ["offered"]

    await _until(offered, "the free slot was never offered")


async def test_slots_generation_creates_go_to_the_waitlist_first(
    api: Api, worker: dramatiq.Worker, admin_token: str, db: asyncpg.Connection
) -> None:
    created = await api.post(
        "/admin/v1/locations", token=admin_token, json={"name": "Clinic", "timezone": "UTC"}
    )
    location = created.json["location"]["id"]
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    await _join(api, token(["user"]), uuid.UUID(location), day)
    rule = {
        "location_id": location,
        "rule_kind": "DATE_RANGE",
        "start_time": "09:00",
        "end_time": "10:00",
        "slot_granularity_minutes": 30,
        "slot_duration_minutes": 30,
        "valid_from": day.isoformat(),
        "valid_to": day.isoformat(),
    }
    assert (await api.post("/admin/v1/availabilities", token=admin_token, json=rule)).status == 201
    job = await api.post(
        "/admin/v1/slots/generate",
        token=admin_token,
        json={"location_id": location, "from": day.isoformat(), "to": day.isoformat()},
    )

    async def done() -> bool:
        found = await api.get(f"/admin/v1/jobs/{job.json['job']['id']}", token=admin_token)
        return found.json["job"]["status"] == "succeeded"

    await _until(done, "generation never finished")
    assert await _statuses(db) == ["offered"]


@pytest.mark.booking_wait(30)
async def test_cancels_and_holds_racing_a_waitlist_never_oversell_nor_offer_twice(
    api: Api,
    worker: dramatiq.Worker,
    location: uuid.UUID,
    db: asyncpg.Connection,
    settings: Settings,
) -> None:
    """50 full slots, 30 waiting entries; 50 cancels race 500 holds. The first 30 places
    freed go to the waitlist (nobody jumps the queue), the rest to whoever holds first."""
    six = rows.SOON.replace(hour=2, minute=0, second=0)  # 06:00 in Dubai: one day holds all
    slots = [
        await rows.slot(db, location, start=six + dt.timedelta(minutes=10 * n), minutes=10)
        for n in range(50)
    ]
    held = [await _walk_in(api, s, _phone(1000 + n)) for n, s in enumerate(slots)]
    assert [h.status for h in held] == [201] * 50
    for n in range(30):
        await _join(api, token(["user"]), location, _day(six), n)

    cancels = [_cancel(api, h.json["booking"]["id"]) for h in held]
    holds = [_walk_in(api, slots[n % 50], _phone(2000 + n)) for n in range(500)]
    replies = await asyncio.gather(*cancels, *holds)
    assert [r.status for r in replies[:50]] == [200] * 50
    assert {r.code for r in replies[50:] if r.status != 201} == {"SLOT_FULL"}

    assert await _statuses(db) == ["offered"] * 30
    assert await _offers(db) == 30
    accepted = sum(1 for r in replies[50:] if r.status == 201)
    assert accepted <= 20
    live = await db.fetchval("SELECT count(*) FROM bookings WHERE status IN ('held', 'confirmed')")
    assert live == 30 + accepted
    assert await violations(settings.database_url) == []
