"""The outbox relay publishes every event at least once, and notifications go out."""

import asyncio
import io
import logging

import asyncpg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from actors import events
from common.settings import Settings
from db import outbox
from db.engine import create_engine
from tests.support import rows


async def _emit(settings: Settings, count: int, **payload: object) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await outbox.emit_many(
                conn,
                [
                    outbox.Event(
                        "booking.created", f"00000000-0000-7000-8000-{i:012d}", payload, f"req-{i}"
                    )
                    for i in range(count)
                ],
            )
    finally:
        await engine.dispose()


def _stream_ids(settings: Settings) -> list[str]:
    entries = redis.Redis.from_url(settings.redis_url, decode_responses=True).xrange("events")
    return [fields["id"] for _, fields in entries]


async def test_relay_publishes_each_event_and_marks_it(
    settings: Settings, db: asyncpg.Connection
) -> None:
    await _emit(settings, 3)
    assert await events.publish_pending() == 3
    assert await events.publish_pending() == 0
    ids = _stream_ids(settings)
    assert len(ids) == len(set(ids)) == 3
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_parallel_relays_publish_each_event_once(settings: Settings) -> None:
    await _emit(settings, 1200)
    counts = await asyncio.gather(events.publish_pending(), events.publish_pending())
    assert sum(counts) == 1200
    ids = _stream_ids(settings)
    assert len(ids) == len(set(ids)) == 1200


async def test_a_relay_dying_before_it_marks_publishes_again(
    settings: Settings, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _emit(settings, 2)

    async def fail_to_mark(conn: AsyncConnection, ids: list[object]) -> None:
        await conn.execute(text("SELECT no_such_column FROM outbox"))

    monkeypatch.setattr(outbox, "mark_published", fail_to_mark)
    with pytest.raises(Exception, match="no_such_column"):
        await events.publish_pending()
    monkeypatch.undo()
    assert await events.publish_pending() == 2
    ids = _stream_ids(settings)
    assert len(ids) == 4
    assert len(set(ids)) == 2


@pytest.fixture
def notify_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logger = logging.getLogger("notify")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


async def _booking_event(db: asyncpg.Connection, settings: Settings, notify: bool) -> dict:
    from common.ids import new_id
    from common.pii import PiiKeys

    pii = PiiKeys.parse(settings.pii_key)
    location = await rows.location(db)
    slot = await rows.slot(db, location)
    booking = new_id()
    await db.execute(
        "INSERT INTO bookings (id, slot_id, location_id, user_id, customer_name, customer_phone,"
        " customer_email, phone_hash, status) VALUES ($1, $2, $3, 'u', 'Ann', $4, $5, 'h',"
        " 'confirmed')",
        booking,
        slot,
        location,
        pii.encrypt("+971501234567"),
        pii.encrypt("ann@example.org"),
    )
    return {
        "id": "e1",
        "type": "booking.confirmed",
        "aggregate_id": str(booking),
        "payload": f'{{"notify": {"true" if notify else "false"}}}',
        "request_id": "",
        "created_at": "",
    }


async def test_notify_goes_through_the_log_channel_masked(
    db: asyncpg.Connection, settings: Settings, notify_log: io.StringIO
) -> None:
    assert await events.deliver([await _booking_event(db, settings, notify=True)]) == []
    line = notify_log.getvalue()
    assert '"event_type": "booking.confirmed"' in line
    assert "a***@example.org" in line
    assert "ann@example.org" not in line


async def test_notify_false_sends_nothing(
    db: asyncpg.Connection, settings: Settings, notify_log: io.StringIO
) -> None:
    assert await events.deliver([await _booking_event(db, settings, notify=False)]) == []
    assert notify_log.getvalue() == ""


class _RefusingChannel:
    """Refuses one booking's message, as a mail server refusing one address would."""

    name = "refusing"

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.sent: list[str] = []

    async def send(self, message) -> None:
        if message.booking_id == self.refused:
            raise ConnectionError("refused")
        self.sent.append(message.booking_id)


async def test_a_failed_delivery_returns_only_that_event(
    db: asyncpg.Connection, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _booking_event(db, settings, notify=True)
    second = await _booking_event(db, settings, notify=True)
    channel = _RefusingChannel(refused=first["aggregate_id"])
    monkeypatch.setattr(events, "channels", lambda _settings, _session: [channel])
    assert await events.deliver([first, second]) == [(first, "refusing")]
    assert channel.sent == [second["aggregate_id"]]
