"""Delivering webhooks with real workers to a receiver on 127.0.0.1 (contract §9):
Standard Webhooks signatures, the booking in `data`, the customer only when asked,
retries by schedule under the same id, the delivery log, manual retry, and the
address check repeated at delivery."""

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator

import asyncpg
import dramatiq
import pytest
from standardwebhooks import Webhook

from actors.main import broker
from common.settings import Settings, get_settings
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose
from tests.support.receiver import Receiver
from workers.broker import send
from workers.tasks import RELAY_EVENTS, WAKE_WEBHOOKS

PHONE = "+971501234567"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Local receivers allowed, short retries and time limits, for the web and the workers."""
    local = {
        "webhook_allow_http": True,
        "webhook_allow_private": True,
        "webhook_retry_seconds": (1, 1),
        "webhook_timeout_seconds": 1.0,
    }
    for name, value in local.items():
        monkeypatch.setattr(get_settings(), name, value)
    return get_settings().model_copy(update={"booking_wait_seconds": 30})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
async def slot(db: asyncpg.Connection) -> uuid.UUID:
    return await rows.slot(db, await rows.location(db))


async def _register(api: Api, url: str, events: list[str], **extra: object) -> dict:
    created = await api.post(
        "/admin/v1/webhooks", token=token(["admin"]), json={"url": url, "events": events, **extra}
    )
    assert created.status == 201, created.json
    return created.json["webhook"]


async def _hold(api: Api, db: asyncpg.Connection, slot: uuid.UUID) -> dict:
    """A visitor's hold of the slot, after `GET /v1/slots` showed it (contract §10)."""
    body = {
        "slot_id": str(slot),
        "customer": {"name": "Ann", "phone": PHONE, "email": "ann@example.org"},
    }
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post("/v1/bookings", token=visitor, json=body)
    assert held.status == 201, held.json
    return held.json["booking"]


async def _all_published(db: asyncpg.Connection) -> None:
    deadline = time.monotonic() + 20
    while await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
        assert time.monotonic() < deadline
        _tick()
        await asyncio.sleep(0.1)


def _tick() -> None:
    """What the scheduler sends: the outbox relay, and the waker of due retries."""
    send(broker, RELAY_EVENTS)
    send(broker, WAKE_WEBHOOKS)


async def _until(check, timeout: float = 20) -> None:
    """Ticks as the scheduler would until `check()` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not delivered in time"
        _tick()
        await asyncio.sleep(0.1)


async def _log(api: Api, webhook_id: str, attempts: int = 0) -> list[dict]:
    """The webhook's delivery log, once its first delivery has had `attempts` attempts."""
    deadline = time.monotonic() + 20
    while True:
        page = await api.get(f"/admin/v1/webhooks/{webhook_id}/deliveries", token=token(["admin"]))
        assert page.status == 200, page.json
        items = page.json["items"]
        if items and items[0]["attempts"] >= attempts:
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.05)


async def test_a_delivery_is_signed_and_names_the_booking_without_the_customer(
    api: Api, worker: dramatiq.Worker, receiver: Receiver, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    webhook = await _register(api, receiver.url, ["booking.created"])
    booking = await _hold(api, db, slot)
    await _until(lambda: receiver.snapshot())

    (request,) = receiver.snapshot()
    verified = Webhook(webhook["secret"]).verify(request.body, request.headers)
    assert verified["type"] == "booking.created"
    assert verified["data"]["booking_id"] == booking["id"]
    assert verified["data"]["slot_id"] == str(slot)
    event = await db.fetchrow(
        "SELECT id, request_id FROM outbox WHERE event_type = 'booking.created'"
    )
    assert request.headers["webhook-id"] == str(event["id"])
    assert request.headers["X-Request-Id"] == event["request_id"]
    assert dt.datetime.fromisoformat(verified["timestamp"]).tzinfo is not None
    for private in (PHONE, "ann@example.org", "Ann", booking["manage_token"]):
        assert private not in request.body.decode()
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(request.body, request.headers)


async def test_include_customer_adds_the_customer(
    api: Api, worker: dramatiq.Worker, receiver: Receiver, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    webhook = await _register(api, receiver.url, ["booking.created"], include_customer=True)
    await _hold(api, db, slot)
    await _until(lambda: receiver.snapshot())
    verified = Webhook(webhook["secret"]).verify(
        receiver.snapshot()[0].body, receiver.snapshot()[0].headers
    )
    assert verified["data"]["customer"] == {
        "name": "Ann",
        "phone": PHONE,
        "email": "ann@example.org",
    }


async def test_a_webhook_gets_only_its_types_created_after_it_was_registered(
    api: Api, worker: dramatiq.Worker, receiver: Receiver, db: asyncpg.Connection
) -> None:
    location = await rows.location(db)
    before, after = [
        await rows.slot(db, location, start=rows.SOON + dt.timedelta(hours=n)) for n in range(2)
    ]
    await _hold(api, db, before)
    await _all_published(db)
    await _register(api, receiver.url, ["booking.created"])
    booking = await _hold(api, db, after)
    await api.post(f"/v1/manage/{booking['manage_token']}/cancel")
    await _all_published(db)
    await _until(lambda: receiver.snapshot())
    await asyncio.sleep(0.5)
    bodies = [json.loads(r.body) for r in receiver.snapshot()]
    assert [(b["type"], b["data"]["booking_id"]) for b in bodies] == [
        ("booking.created", booking["id"])
    ]


async def test_a_failed_attempt_is_retried_by_schedule_under_the_same_id(
    api: Api,
    worker: dramatiq.Worker,
    slot: uuid.UUID,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Room on a busy machine to read the log before the retry is due.
    monkeypatch.setattr(get_settings(), "webhook_retry_seconds", (3,))
    first_fails = lambda headers, body, before: 500 if not before else 200  # noqa: E731
    with Receiver(first_fails) as receiver:
        webhook = await _register(api, receiver.url, ["booking.created"])
        await _hold(api, db, slot)
        await _until(lambda: receiver.snapshot())
        (failed,) = await _log(api, webhook["id"], attempts=1)
        assert (failed["status"], failed["attempts"], failed["last_status"]) == ("pending", 1, 500)
        retry_at = dt.datetime.fromisoformat(failed["next_attempt_at"])
        assert 0 < (retry_at - dt.datetime.now(dt.UTC)).total_seconds() <= 3.5

        await _until(lambda: len(receiver.snapshot()) == 2)
    first, second = receiver.snapshot()
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    Webhook(webhook["secret"]).verify(second.body, second.headers)
    (delivered,) = await _log(api, webhook["id"], attempts=2)
    assert (delivered["status"], delivered["attempts"], delivered["last_status"]) == (
        "delivered",
        2,
        200,
    )
    assert delivered["next_attempt_at"] is None


async def test_after_the_last_retry_a_delivery_fails_for_good(
    api: Api, worker: dramatiq.Worker, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    with Receiver(lambda headers, body, before: 503) as receiver:
        webhook = await _register(api, receiver.url, ["booking.created"])
        await _hold(api, db, slot)
        await _until(lambda: len(receiver.snapshot()) == 3)
        await asyncio.sleep(1.5)
        _tick()
        await asyncio.sleep(0.5)
        assert len(receiver.snapshot()) == 3  # the first attempt and the schedule's two retries
    (failed,) = await _log(api, webhook["id"], attempts=3)
    assert (failed["status"], failed["attempts"], failed["next_attempt_at"]) == ("failed", 3, None)


async def test_a_manual_retry_sends_again_under_the_same_id(
    api: Api, worker: dramatiq.Worker, receiver: Receiver, slot: uuid.UUID, db: asyncpg.Connection
) -> None:
    webhook = await _register(api, receiver.url, ["booking.created"])
    await _hold(api, db, slot)
    await _until(lambda: receiver.snapshot())
    (delivery,) = await _log(api, webhook["id"], attempts=1)
    retried = await api.post(
        f"/admin/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/retry",
        token=token(["manager"]),
    )
    assert retried.status == 202, retried.json
    await _until(lambda: len(receiver.snapshot()) == 2)
    ids = {r.headers["webhook-id"] for r in receiver.snapshot()}
    assert ids == {delivery["event_id"]}


async def test_a_url_no_longer_allowed_is_not_called(
    api: Api,
    worker: dramatiq.Worker,
    receiver: Receiver,
    slot: uuid.UUID,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook = await _register(api, receiver.url, ["booking.created"])
    monkeypatch.setattr(get_settings(), "webhook_allow_private", False)
    await _hold(api, db, slot)
    _tick()
    logged = await _log(api, webhook["id"], attempts=1)
    assert "non-public" in logged[0]["last_error"]
    assert receiver.snapshot() == []


async def test_a_slow_endpoint_does_not_delay_another(
    api: Api,
    worker: dramatiq.Worker,
    receiver: Receiver,
    slot: uuid.UUID,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An endpoint waited for in turn would hold the other up for the whole time limit."""
    monkeypatch.setattr(get_settings(), "webhook_timeout_seconds", 10.0)
    with Receiver(delay_seconds=10) as slow:
        await _register(api, slow.url, ["booking.created"])
        await _register(api, receiver.url, ["booking.created"])
        await _hold(api, db, slot)
        started = time.monotonic()
        await _until(lambda: receiver.snapshot())
        assert receiver.snapshot()[0].at - started < 5.0
