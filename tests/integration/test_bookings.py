"""The booking engine over HTTP with real Dramatiq workers: hold, confirm, cancel, no oversell."""

import asyncio
import datetime as dt
import uuid

import asyncpg
import dramatiq
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from actors.main import broker
from common import keys
from common.settings import Settings
from db.invariants import violations
from tests.support import rows
from tests.support.api import Api, Response, token
from tests.support.commands import hold_command
from tests.support.exposure import expose
from web.app import create_app
from workers import lanes

PHONE = "+971501234567"


def _hold_body(slot_id: uuid.UUID, phone: str = PHONE, **extra: object) -> dict:
    customer = {"name": "Ann", "phone": phone, "email": "ann@example.org"}
    return {"slot_id": str(slot_id), "customer": customer, **extra}


def _phone(n: int) -> str:
    return f"+97150{n:07d}"


@pytest.fixture
async def slot(db: asyncpg.Connection) -> uuid.UUID:
    return await rows.slot(db, await rows.location(db))


async def _no_violations(settings: Settings) -> None:
    assert await violations(settings.database_url) == []


async def _hold(
    api: Api,
    db: asyncpg.Connection,
    slot: uuid.UUID,
    phone: str = PHONE,
    visitor: str | None = None,
    **extra: object,
) -> Response:
    """A visitor (a new one unless given) is shown the slot, then holds it."""
    visitor = visitor or token(["user"])
    await expose(api, db, visitor, slot)
    return await api.post("/v1/bookings", token=visitor, json=_hold_body(slot, phone, **extra))


async def _walk_in(api: Api, slot: uuid.UUID, phone: str = PHONE) -> Response:
    """Front-desk staff hold the slot for a walk-in (any open slot, nothing to expose)."""
    return await api.post("/v1/bookings", token=token(["frontdesk"]), json=_hold_body(slot, phone))


async def test_a_token_whose_subject_postgres_cannot_store_queues_nothing(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, settings: Settings
) -> None:
    """Such a subject once reached the worker and failed there forever, holding up every
    command queued behind it for the slot's person."""
    refused = await api.post(
        "/v1/bookings", token=token(["frontdesk"], subject="desk\x00"), json=_hold_body(slot)
    )
    assert refused.status == 401, refused.json
    assert redis.Redis.from_url(settings.redis_url).keys("lane:*") == []
    assert (await _walk_in(api, slot)).status == 201


async def test_a_queued_command_postgres_refuses_holds_up_no_one_behind_it(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, settings: Settings
) -> None:
    """A command the web should never have let through (here a subject with a NUL, now
    refused at the door) is answered INTERNAL and taken off; the hold behind it is applied."""
    poison = hold_command(slot_id=str(slot), subject="desk\x00", key=str(uuid.uuid4()), staff=True)
    queued = redis.Redis.from_url(settings.redis_url)
    *queue, _wake = lanes.append(lanes.lane_for(None, slot), poison)  # the walk-in wakes
    for name, *args in queue:
        queued.execute_command(name, *args)
    assert (await _walk_in(api, slot)).status == 201
    refused = lanes.refused_hold(queued.get(keys.outcome(poison.booking_id)), poison.subject)
    assert refused is not None and refused["code"] == "INTERNAL"


@pytest.mark.parametrize("name", ["Ann\x01", "Ann\nBcc: x", "Ann\x7f", "\x85Ann"])
async def test_a_customer_name_with_control_characters_is_422(
    api: Api, slot: uuid.UUID, name: str
) -> None:
    body = {"slot_id": str(slot), "customer": {"name": name, "phone": PHONE}}
    response = await api.post("/v1/bookings", token=token(["frontdesk"]), json=body)
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
    assert response.json["error"]["details"]["fields"][0]["field"] == "customer.name"


async def test_full_flow_hold_confirm_cancel(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection, settings: Settings
) -> None:
    visitor = token(["user"])
    held = await _hold(api, db, slot, visitor=visitor, notes="hi")
    assert held.status == 201, held.json
    booking = held.json["booking"]
    assert booking["status"] == "held"
    assert booking["customer"] == {"name": "Ann", "phone": PHONE, "email": "ann@example.org"}
    assert booking["hold_expires_at"] is not None
    assert booking["start_at"].endswith("+04:00")

    confirmed = await api.post(f"/v1/bookings/{booking['id']}/confirm", token=visitor)
    assert confirmed.status == 200, confirmed.json
    assert confirmed.json["booking"]["status"] == "confirmed"
    assert confirmed.json["booking"]["confirmed_at"] is not None
    assert await db.fetchval("SELECT booked FROM slot_instances WHERE id = $1", slot) == 1

    cancelled = await api.post(f"/v1/bookings/{booking['id']}/cancel", token=visitor)
    assert cancelled.status == 200
    assert cancelled.json["booking"]["status"] == "cancelled"
    counters = await db.fetchrow(
        "SELECT booked, hold, status FROM slot_instances WHERE id = $1", slot
    )
    assert tuple(counters) == (0, 0, "open")
    events = await db.fetch("SELECT event_type FROM outbox ORDER BY id")
    assert [e["event_type"] for e in events] == [
        "booking.created",
        "booking.confirmed",
        "booking.cancelled",
    ]
    await _no_violations(settings)


async def test_own_booking_only(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    owner = token(["user"])
    held = await _hold(api, db, slot, visitor=owner)
    path = f"/v1/bookings/{held.json['booking']['id']}"
    assert (await api.get(path, token=owner)).json["booking"]["status"] == "held"
    assert (await api.get(path, token=token(["user"]))).status == 404
    assert (await api.post(f"{path}/cancel", token=token(["user"]))).status == 404


async def test_a_change_to_a_booking_that_never_existed_is_404_without_a_worker(
    api: Api, settings: Settings
) -> None:
    """No worker runs: the 404 comes from the web at once, not after BOOKING_WAIT_SECONDS."""
    missing = uuid.uuid4()
    visitor, staff = token(["user"]), token(["frontdesk"])
    started = asyncio.get_running_loop().time()
    responses = [
        await api.post(f"/v1/bookings/{missing}/confirm", token=visitor),
        await api.post(f"/v1/bookings/{missing}/cancel", token=visitor),
        await api.patch(f"/admin/v1/bookings/{missing}", token=staff, json={"action": "cancel"}),
    ]
    assert [r.code for r in responses] == ["NOT_FOUND"] * 3
    assert asyncio.get_running_loop().time() - started < settings.booking_wait_seconds


async def test_unknown_slot_is_404(api: Api) -> None:
    response = await api.post("/v1/bookings", token=token(["user"]), json=_hold_body(uuid.uuid4()))
    assert response.status == 404


@pytest.mark.parametrize("phone", ["12", "not a phone", "+9715"])
async def test_invalid_phone_is_422(api: Api, slot: uuid.UUID, phone: str) -> None:
    response = await api.post("/v1/bookings", token=token(["user"]), json=_hold_body(slot, phone))
    assert response.status == 422
    assert response.json["error"]["details"]["fields"][0]["field"] == "customer.phone"


async def test_replay_returns_the_same_booking_even_after_redis_lost_it(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection, settings: Settings
) -> None:
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    first = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="k1")
    again = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="k1")
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    redis.Redis.from_url(settings.redis_url).flushdb()
    after_flush = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="k1")
    assert after_flush.status == 201
    assert after_flush.json["booking"]["id"] == first.json["booking"]["id"]
    assert await db.fetchval("SELECT count(*) FROM bookings") == 1


async def test_a_full_slot_is_refused_without_the_worker_and_the_refusal_replays(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection, settings: Settings
) -> None:
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    first = await _hold(api, db, slot)
    assert first.status == 201
    assert client.get(f"admit:{slot}") == "0"
    worker.stop()
    # Stopping may take seconds on a busy machine: the count must not near its end, when
    # one request goes through to probe the (stopped) workers.
    client.set(f"admit:{slot}", "0", px=60_000)
    body = _hold_body(slot, _phone(3))
    refused = await api.post("/v1/bookings", token=visitor, json=body, key="late")
    assert refused.status == 409
    assert refused.code == "SLOT_FULL"
    await db.execute("UPDATE bookings SET status = 'cancelled'")
    await db.execute("UPDATE slot_instances SET hold = 0")
    client.delete(f"admit:{slot}")
    replayed = await api.post("/v1/bookings", token=visitor, json=body, key="late")
    assert replayed.status == 409
    assert replayed.json == refused.json
    assert replayed.headers["Idempotent-Replayed"] == "true"


async def test_an_admission_count_about_to_lapse_lets_one_request_renew_it(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, settings: Settings, db: asyncpg.Connection
) -> None:
    late = token(["user"])
    await expose(api, db, late, slot)
    await _hold(api, db, slot)
    client = redis.Redis.from_url(settings.redis_url)
    client.set(f"admit:{slot}", "0", px=800)
    probe = await api.post("/v1/bookings", token=late, json=_hold_body(slot, _phone(2)))
    assert probe.code == "SLOT_FULL"
    assert client.pttl(f"admit:{slot}") > 1000, "the worker's refusal did not renew the count"


async def test_a_cancel_reopens_a_slot_the_web_counted_as_full(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    visitor = token(["user"])
    held = await _hold(api, db, slot, visitor=visitor)
    await api.post(f"/v1/bookings/{held.json['booking']['id']}/cancel", token=visitor)
    again = await _hold(api, db, slot, _phone(4))
    assert again.status == 201


async def test_a_command_that_cannot_be_applied_holds_up_only_its_own_lane(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, settings: Settings, db: asyncpg.Connection
) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    client.rpush("lane:poisoned", "{not a command")
    client.sadd("lanes:ready", "poisoned")
    held = await _hold(api, db, slot)
    assert held.status == 201
    assert client.llen("lane:poisoned") == 1


async def test_a_replay_redis_forgot_is_not_refused_by_a_full_count(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, settings: Settings, db: asyncpg.Connection
) -> None:
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    first = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="kept")
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    client.set(f"admit:{slot}", "0", px=5000)
    replay = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="kept")
    assert replay.status == 201
    assert replay.json["booking"]["id"] == first.json["booking"]["id"]


async def test_same_phone_same_slot_same_day_is_duplicate(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    slot = await rows.slot(db, await rows.location(db), capacity=3)
    first = await _hold(api, db, slot)
    second = await _hold(api, db, slot)
    assert first.status == 201
    assert second.status == 409
    assert second.code == "DUPLICATE_BOOKING"


@pytest.mark.booking_wait(30)
async def test_fifty_parallel_holds_on_capacity_five(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    slot = await rows.slot(db, await rows.location(db), capacity=5)
    visitors = [token(["user"]) for _ in range(50)]
    for visitor in visitors:
        await expose(api, db, visitor, slot)
    responses = await asyncio.gather(
        *[
            api.post("/v1/bookings", token=visitor, json=_hold_body(slot, _phone(i)))
            for i, visitor in enumerate(visitors)
        ]
    )
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 5
    assert statuses.count(409) == 45
    assert {r.code for r in responses if r.status == 409} == {"SLOT_FULL"}
    counters = await db.fetchrow("SELECT hold, status FROM slot_instances WHERE id = $1", slot)
    assert tuple(counters) == (5, "full")
    assert await db.fetchval("SELECT count(*) FROM bookings WHERE status = 'held'") == 5
    await _no_violations(settings)


@pytest.mark.booking_wait(30)
async def test_five_hundred_parallel_holds_on_ten_single_slots(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    location = await rows.location(db)
    start = rows.SOON
    slots = [await rows.slot(db, location, start=start + dt.timedelta(hours=i)) for i in range(10)]
    responses = await asyncio.gather(*[_walk_in(api, slots[i % 10], _phone(i)) for i in range(500)])
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 10
    assert statuses.count(409) == 490
    assert await db.fetchval("SELECT count(*) FROM bookings") == 10
    await _no_violations(settings)


async def test_a_hold_takes_the_persons_overlapping_slot(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    location = await rows.location(db)
    person = await rows.person(db, location)
    nine = await rows.slot(db, location, person_id=person, start=rows.SOON)
    quarter_past = await rows.slot(
        db, location, person_id=person, start=rows.SOON + dt.timedelta(minutes=15)
    )
    half_past = await rows.slot(
        db, location, person_id=person, start=rows.SOON + dt.timedelta(minutes=30)
    )
    first = await _walk_in(api, nine)
    assert first.status == 201
    overlapping = await _walk_in(api, quarter_past, _phone(1))
    assert overlapping.status == 409
    assert overlapping.code == "SLOT_FULL"
    touching = await _walk_in(api, half_past, _phone(2))
    assert touching.status == 201
    await _no_violations(settings)


async def test_blocked_or_past_slot_is_unavailable(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    location = await rows.location(db)
    blocked = await rows.slot(db, location, status="blocked")
    past = await rows.slot(db, location, start=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    for slot in (blocked, past):
        response = await _walk_in(api, slot)
        assert response.status == 409
        assert response.code == "SLOT_UNAVAILABLE"


async def _expire_hold(db: asyncpg.Connection, booking_id: str) -> None:
    await db.execute(
        "UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(booking_id),
    )


async def test_confirm_after_the_deadline_is_hold_expired(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    visitor = token(["user"])
    held = await _hold(api, db, slot, visitor=visitor)
    await _expire_hold(db, held.json["booking"]["id"])
    late = await api.post(f"/v1/bookings/{held.json['booking']['id']}/confirm", token=visitor)
    assert late.status == 409
    assert late.code == "HOLD_EXPIRED"


async def test_confirming_twice_is_invalid_state(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    visitor = token(["user"])
    held = await _hold(api, db, slot, visitor=visitor)
    path = f"/v1/bookings/{held.json['booking']['id']}/confirm"
    assert (await api.post(path, token=visitor)).status == 200
    again = await api.post(path, token=visitor)
    assert again.status == 409
    assert again.code == "INVALID_STATE"


async def test_a_lapsed_hold_frees_the_slot_before_the_expiry_job(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection, settings: Settings
) -> None:
    other_visitor = token(["user"])
    await expose(api, db, other_visitor, slot)
    held = await _hold(api, db, slot)
    await _expire_hold(db, held.json["booking"]["id"])
    # As the clock would: the web's count never outlives the slot's first hold deadline.
    redis.Redis.from_url(settings.redis_url).delete(f"admit:{slot}")
    other = await api.post("/v1/bookings", token=other_visitor, json=_hold_body(slot, _phone(9)))
    assert other.status == 201
    statuses = await db.fetch("SELECT status FROM bookings ORDER BY created_at")
    assert [s["status"] for s in statuses] == ["expired", "held"]
    await _no_violations(settings)


async def test_a_phone_whose_hold_lapsed_may_hold_the_slot_again_before_the_expiry_job(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection, settings: Settings
) -> None:
    held = await _hold(api, db, slot)
    await _expire_hold(db, held.json["booking"]["id"])
    redis.Redis.from_url(settings.redis_url).delete(f"admit:{slot}")
    again = await _hold(api, db, slot)
    assert again.status == 201
    statuses = await db.fetch("SELECT status FROM bookings ORDER BY created_at")
    assert [s["status"] for s in statuses] == ["expired", "held"]
    await _no_violations(settings)


async def test_the_admission_count_lapses_with_the_first_hold_deadline(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    slot = await rows.slot(db, await rows.location(db), capacity=3)
    held = uuid.UUID((await _hold(api, db, slot)).json["booking"]["id"])
    await db.execute(
        "UPDATE bookings SET hold_expires_at = now() + interval '4 seconds' WHERE id = $1", held
    )
    await _hold(api, db, slot, _phone(5))
    lapses_in_ms = await db.fetchval(
        "SELECT EXTRACT(EPOCH FROM hold_expires_at - clock_timestamp())::float8 * 1000"
        " FROM bookings WHERE id = $1",
        held,
    )
    assert lapses_in_ms < lanes.ADMISSION_MS
    assert 0 < redis.Redis.from_url(settings.redis_url).pttl(f"admit:{slot}") <= lapses_in_ms + 50


async def test_expiry_job_restores_capacity(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection, settings: Settings
) -> None:
    from actors.expiry import expire_holds

    held = await _hold(api, db, slot)
    await _expire_hold(db, held.json["booking"]["id"])
    expire_holds.send()
    deadline = asyncio.get_running_loop().time() + 10
    while await db.fetchval("SELECT hold FROM slot_instances WHERE id = $1", slot) != 0:
        assert asyncio.get_running_loop().time() < deadline, "the hold never expired"
        await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT status FROM bookings") == "expired"
    assert (
        await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'booking.expired'") == 1
    )
    await _no_violations(settings)


async def test_without_a_worker_the_hold_is_202_then_reaches_its_final_state(
    api: Api, settings: Settings, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    quick = settings.model_copy(update={"booking_wait_seconds": 0.2})
    client = TestClient(TestServer(create_app(quick)))
    await client.start_server()
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    try:
        pending = await Api(client).post("/v1/bookings", token=visitor, json=_hold_body(slot))
        assert pending.status == 202
        assert pending.headers["Location"] == f"/v1/bookings/{pending.json['booking']['id']}"
        polled = await Api(client).get(pending.headers["Location"], token=visitor)
        assert polled.json["booking"]["status"] == "pending"
        started = dramatiq.Worker(broker, worker_threads=2, worker_timeout=20)
        started.start()
        try:
            deadline = asyncio.get_running_loop().time() + 10
            while (await Api(client).get(pending.headers["Location"], token=visitor)).json[
                "booking"
            ]["status"] == "pending":
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
        finally:
            started.stop()
        final = await Api(client).get(pending.headers["Location"], token=visitor)
        assert final.json["booking"]["status"] == "held"
    finally:
        await client.close()


async def test_a_pending_booking_polled_while_the_worker_applies_it_is_never_missing(
    settings: Settings, db: asyncpg.Connection
) -> None:
    slot = await rows.slot(db, await rows.location(db), capacity=30)
    client = TestClient(
        TestServer(create_app(settings.model_copy(update={"booking_wait_seconds": 0.01})))
    )
    await client.start_server()
    try:
        api = Api(client)
        visitors = [token(["user"]) for _ in range(30)]
        pending = []
        for n, visitor in enumerate(visitors):
            await expose(api, db, visitor, slot)
            held = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot, _phone(n)))
            assert held.status == 202
            pending.append(held.headers["Location"])

        async def poll(path: str, visitor: str) -> list[object]:
            """Every reply until the booking is no longer pending; a missing one is kept."""
            seen: list[object] = []
            while True:
                reply = await api.get(path, token=visitor)
                booking = (reply.json or {}).get("booking")
                if booking is None:
                    seen.append(reply.json)
                elif booking["status"] != "pending":
                    return seen
                await asyncio.sleep(0)

        started = dramatiq.Worker(broker, worker_threads=2, worker_timeout=20)
        started.start()
        try:
            polls = [poll(path, visitor) for path, visitor in zip(pending, visitors, strict=True)]
            missing = await asyncio.wait_for(asyncio.gather(*polls), timeout=30)
        finally:
            started.stop()
        assert [reply for replies in missing for reply in replies] == []
    finally:
        await client.close()


async def test_reschedule_into_a_full_slot_changes_nothing(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    location = await rows.location(db)
    source = await rows.slot(db, location)
    target = await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=1))
    mine = await _hold(api, db, source)
    await _hold(api, db, target, _phone(3))
    before = await db.fetch("SELECT id, slot_id, status FROM bookings ORDER BY id")
    moved = await api.patch(
        f"/admin/v1/bookings/{mine.json['booking']['id']}",
        token=token(["frontdesk"]),
        json={"action": "reschedule", "slot_id": str(target)},
    )
    assert moved.status == 409
    assert moved.code == "SLOT_FULL"
    assert await db.fetch("SELECT id, slot_id, status FROM bookings ORDER BY id") == before
    await _no_violations(settings)


async def test_reschedule_moves_the_booking(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, settings: Settings
) -> None:
    location = await rows.location(db)
    source = await rows.slot(db, location)
    target = await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=1))
    mine = await _hold(api, db, source)
    moved = await api.patch(
        f"/admin/v1/bookings/{mine.json['booking']['id']}",
        token=token(["manager"]),
        json={"action": "reschedule", "slot_id": str(target)},
    )
    assert moved.status == 200, moved.json
    assert moved.json["booking"]["slot_id"] == str(target)
    holds = await db.fetch("SELECT id, hold FROM slot_instances ORDER BY start_at")
    assert [h["hold"] for h in holds] == [0, 1]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'booking.rescheduled'")
    await _no_violations(settings)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("manager", True),
        ("frontdesk", True),
        ("scheduler", False),
        ("user", False),
    ],
)
async def test_role_matrix_for_staff_booking_changes(
    api: Api,
    worker: dramatiq.Worker,
    slot: uuid.UUID,
    role: str,
    allowed: bool,
    db: asyncpg.Connection,
) -> None:
    held = await _hold(api, db, slot)
    response = await api.patch(
        f"/admin/v1/bookings/{held.json['booking']['id']}",
        token=token([role]),
        json={"action": "cancel", "reason": "closed"},
    )
    assert response.status == (200 if allowed else 403)
