"""Manage links over HTTP with real workers: the token in the customer's replies, and
`/v1/manage/{token}` viewing, confirming, cancelling, moving, as the visitor would."""

import asyncio
import datetime as dt
import io
import re
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import dramatiq
import icalendar
import pytest
from aiohttp.test_utils import TestClient, TestServer

from common import link_tokens
from common.pii import PiiKeys
from common.settings import Settings
from common.tokens import issue_session_token
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose
from web.app import create_app

PHONE = "+971501234567"


def _hold_body(slot_id: uuid.UUID) -> dict:
    customer = {"name": "Ann", "phone": PHONE, "email": "ann@example.org"}
    return {"slot_id": str(slot_id), "customer": customer}


async def _hold(
    api: Api, db: asyncpg.Connection, slot: uuid.UUID, visitor: str | None = None
) -> dict:
    """A visitor's hold of the slot, after `GET /v1/slots` showed it (contract §10)."""
    visitor = visitor or token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot))
    assert held.status == 201, held.json
    return held.json["booking"]


@pytest.fixture
async def location(db: asyncpg.Connection) -> uuid.UUID:
    return await rows.location(db)


@pytest.fixture
async def person(db: asyncpg.Connection, location: uuid.UUID) -> uuid.UUID:
    return await rows.person(db, location)


async def _slots(
    db: asyncpg.Connection, location: uuid.UUID, person: uuid.UUID | None, count: int
) -> list[uuid.UUID]:
    return [
        await rows.slot(db, location, person_id=person, start=rows.SOON + dt.timedelta(hours=n))
        for n in range(count)
    ]


async def test_hold_confirm_and_their_replays_carry_the_manage_token(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="hold")
    manage_token = held.json["booking"]["manage_token"]
    assert len(manage_token) >= 22  # at least 128 bits, URL-safe base64
    booking_id = held.json["booking"]["id"]
    confirm = f"/v1/bookings/{booking_id}/confirm"
    confirmed = await api.post(confirm, token=visitor, key="confirm")
    replays = [
        await api.post("/v1/bookings", token=visitor, json=_hold_body(slot), key="hold"),
        await api.post(confirm, token=visitor, key="confirm"),
    ]
    assert confirmed.json["booking"]["manage_token"] == manage_token
    assert [r.json["booking"]["manage_token"] for r in replays] == [manage_token] * 2
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replays)


async def test_the_token_is_stored_only_hashed_and_sealed(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    location: uuid.UUID,
    settings: Settings,
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    booking = await _hold(api, db, slot)
    stored = await db.fetchrow(
        "SELECT manage_token_hash, manage_token FROM bookings WHERE id = $1",
        uuid.UUID(booking["id"]),
    )
    pii = PiiKeys.parse(settings.pii_key)
    digest = link_tokens.digest(pii, link_tokens.MANAGE, booking["manage_token"])
    assert stored["manage_token_hash"] == digest
    assert booking["manage_token"] not in stored["manage_token"]
    assert pii.decrypt(stored["manage_token"]) == booking["manage_token"]


async def test_staff_see_no_manage_token(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    first, second = await _slots(db, location, None, 2)
    booking = await _hold(api, db, first)
    staff = token(["frontdesk"])
    listed = await api.get("/admin/v1/bookings", token=staff)
    moved = await api.patch(
        f"/admin/v1/bookings/{booking['id']}",
        token=staff,
        json={"action": "reschedule", "slot_id": str(second)},
    )
    assert moved.status == 200, moved.json
    assert "manage_token" not in listed.json["items"][0]
    assert "manage_token" not in moved.json["booking"]


async def test_the_link_shows_the_booking_without_any_authorization(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    booking = await _hold(api, db, slot)
    shown = await api.get(f"/v1/manage/{booking['manage_token']}")
    assert shown.status == 200, shown.json
    assert shown.json["booking"]["id"] == booking["id"]
    assert shown.json["booking"]["customer"]["phone"] == PHONE
    assert shown.json["booking"]["status"] == "held"


async def test_the_link_confirms_then_cancels_freeing_the_slot(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    link = f"/v1/manage/{(await _hold(api, db, slot))['manage_token']}"
    confirmed = await api.post(f"{link}/confirm")
    cancelled = await api.post(f"{link}/cancel")
    assert confirmed.status == 200, confirmed.json
    assert confirmed.json["booking"]["status"] == "confirmed"
    assert cancelled.json["booking"]["status"] == "cancelled"
    counters = await db.fetchrow("SELECT booked, hold FROM slot_instances WHERE id = $1", slot)
    assert tuple(counters) == (0, 0)


async def test_a_change_through_the_link_needs_an_idempotency_key_and_replays(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    link = f"/v1/manage/{(await _hold(api, db, slot))['manage_token']}"
    missing = await api.post(f"{link}/cancel", key=None)
    first = await api.post(f"{link}/cancel", key="cancel-1")
    again = await api.post(f"{link}/cancel", key="cancel-1")
    assert missing.code == "IDEMPOTENCY_KEY_REQUIRED"
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_the_link_cancels_after_the_visitor_session_expired(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    location: uuid.UUID,
    settings: Settings,
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    # Long enough to be shown the slot and hold it on a busy machine (expiry is rounded
    # down to the second); then it runs out.
    session = issue_session_token(
        settings.jwt_secret, settings.jwt_issuer, str(uuid.uuid4()), ttl_seconds=6
    )
    booking = await _hold(api, db, slot, visitor=session)
    path = f"/v1/bookings/{booking['id']}"
    deadline = asyncio.get_running_loop().time() + 15
    while (await api.get(path, token=session)).status != 401:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)

    cancelled = await api.post(f"/v1/manage/{booking['manage_token']}/cancel")
    assert cancelled.status == 200, cancelled.json
    assert cancelled.json["booking"]["status"] == "cancelled"


async def test_forged_and_expired_links_are_404_alike(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, location: uuid.UUID
) -> None:
    (slot,) = await _slots(db, location, None, 1)
    booking = await _hold(api, db, slot)
    # The slot ends: the link is dead from then on.
    await db.execute(
        "UPDATE slot_instances SET start_at = now() - interval '2 hours',"
        " end_at = now() - interval '1 hour' WHERE id = $1",
        slot,
    )
    forged = link_tokens.mint()
    answers = [
        await api.get(f"/v1/manage/{booking['manage_token']}"),
        await api.get(f"/v1/manage/{forged}"),
        await api.post(f"/v1/manage/{booking['manage_token']}/cancel"),
        await api.post(f"/v1/manage/{forged}/cancel"),
        await api.get(f"/v1/manage/{forged}/ics"),
    ]
    assert [a.status for a in answers] == [404] * 5
    bodies = {(a.json["error"]["code"], a.json["error"]["message"]) for a in answers}
    assert len(bodies) == 1
    assert await db.fetchval("SELECT status FROM bookings") == "held"


async def test_the_link_moves_the_booking_within_its_person(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    location: uuid.UUID,
    person: uuid.UUID,
) -> None:
    first, second = await _slots(db, location, person, 2)
    booking = await _hold(api, db, first)
    link = f"/v1/manage/{booking['manage_token']}"
    await api.post(f"{link}/confirm")
    moved = await api.post(f"{link}/reschedule", json={"slot_id": str(second)})
    assert moved.status == 200, moved.json
    assert moved.json["booking"]["slot_id"] == str(second)
    assert moved.json["booking"]["status"] == "confirmed"
    assert moved.json["booking"]["manage_token"] == booking["manage_token"]
    used = await db.fetch("SELECT id, booked FROM slot_instances ORDER BY start_at")
    assert [(r["id"], r["booked"]) for r in used] == [(first, 0), (second, 1)]


async def test_the_link_refuses_another_person_or_location_and_changes_nothing(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    location: uuid.UUID,
    person: uuid.UUID,
) -> None:
    (mine,) = await _slots(db, location, person, 1)
    other_person = await rows.person(db, location)
    (theirs,) = await _slots(db, location, other_person, 1)
    elsewhere = await rows.location(db)
    (far,) = await _slots(db, elsewhere, None, 1)
    (location_wide,) = await _slots(db, location, None, 1)
    booking = await _hold(api, db, mine)
    link = f"/v1/manage/{booking['manage_token']}"
    refused = [
        await api.post(f"{link}/reschedule", json={"slot_id": str(target)})
        for target in (theirs, far, location_wide)
    ]
    assert [r.code for r in refused] == ["SLOT_UNAVAILABLE"] * 3
    assert {r.json["error"]["details"]["reason"] for r in refused} == {"other_scope"}
    assert await db.fetchval("SELECT slot_id FROM bookings") == mine
    assert await db.fetchval("SELECT hold FROM slot_instances WHERE id = $1", mine) == 1


async def test_a_move_to_a_full_slot_is_slot_full_and_leaves_the_booking(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    location: uuid.UUID,
    person: uuid.UUID,
) -> None:
    first, second = await _slots(db, location, person, 2)
    await _hold(api, db, second)
    booking = await _hold(api, db, first)
    moved = await api.post(
        f"/v1/manage/{booking['manage_token']}/reschedule", json={"slot_id": str(second)}
    )
    assert moved.code == "SLOT_FULL"
    shown = await api.get(f"/v1/manage/{booking['manage_token']}")
    assert shown.json["booking"]["slot_id"] == str(first)
    used = await db.fetch("SELECT id, hold FROM slot_instances ORDER BY start_at")
    assert [(r["id"], r["hold"]) for r in used] == [(first, 1), (second, 1)]


async def test_the_calendar_file_has_the_right_utc_times_across_a_dst_change(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    location = await rows.location(db, "Europe/Berlin")
    await db.execute("UPDATE locations SET name = 'Praxis Mitte' WHERE id = $1", location)
    # Central Europe moves its clocks forward on the last Sunday of March.
    day_before, day_of = dt.date(2027, 3, 27), dt.date(2027, 3, 28)
    files = {}
    for day in (day_before, day_of):
        start = dt.datetime.combine(day, dt.time(9, 0), berlin)
        slot = await rows.slot(db, location, start=start, day=day)
        booking = await _hold(api, db, slot)
        response = await api.client.get(f"/v1/manage/{booking['manage_token']}/ics")
        assert response.status == 200
        assert response.content_type == "text/calendar"
        files[day] = (booking["id"], await response.text())

    expected = {
        day_before: dt.datetime(2027, 3, 27, 8, 0, tzinfo=dt.UTC),
        day_of: dt.datetime(2027, 3, 28, 7, 0, tzinfo=dt.UTC),
    }
    for day, (booking_id, text) in files.items():
        assert re.search(r"^DTSTART:\d{8}T\d{6}Z\r?$", text, re.MULTILINE), text
        events = list(icalendar.Calendar.from_ical(text).walk("VEVENT"))
        assert len(events) == 1
        event = events[0]
        assert str(event["UID"]) == booking_id
        assert event.decoded("DTSTART") == expected[day]
        assert event.decoded("DTEND") == expected[day] + dt.timedelta(minutes=30)
        assert str(event["LOCATION"]) == "Praxis Mitte"


async def test_the_token_never_reaches_a_log_line(
    api: Api,
    worker: dramatiq.Worker,
    db: asyncpg.Connection,
    location: uuid.UUID,
    log_lines: io.StringIO,
) -> None:
    first, second = await _slots(db, location, None, 2)
    booking = await _hold(api, db, first)
    link = f"/v1/manage/{booking['manage_token']}"
    await api.get(link)
    await api.get(f"{link}/ics")
    await api.post(f"{link}/confirm")
    await api.post(f"{link}/reschedule", json={"slot_id": str(second)})
    await api.post(f"{link}/cancel")
    await api.client.get(f"/manage/{booking['manage_token']}")
    # aiohttp's own access log is the test server's; the platform runs without it
    # (web/server.py) and logs requests itself, with the token redacted.
    logged = [line for line in log_lines.getvalue().splitlines() if "aiohttp.access" not in line]
    assert any("/v1/manage/[redacted]/reschedule" in line for line in logged)
    assert not [line for line in logged if booking["manage_token"] in line]


async def test_links_spend_the_client_ips_manage_budget(settings: Settings) -> None:
    """Guessing links costs a budget per address, whichever token is tried."""
    limited = settings.model_copy(update={"rate_limit_manage": "3/minute"})
    client = TestClient(TestServer(create_app(limited)))
    await client.start_server()
    try:
        api = Api(client)
        answers = [await api.get(f"/v1/manage/{link_tokens.mint()}") for _ in range(4)]
    finally:
        await client.close()
    assert [a.status for a in answers] == [404, 404, 404, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert int(answers[3].headers["Retry-After"]) >= 1
