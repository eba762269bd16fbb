"""Publishing the outbox: events leave Postgres only after the change they describe.

The relay claims unpublished rows in id order (`FOR UPDATE SKIP LOCKED`, so relays
never contend), appends them to the Redis stream `events`, hands each to `notify`,
and marks them published in the same transaction that claimed them. Delivery is
at least once: a relay that dies after the XADD and before its commit publishes
those events again, so consumers dedupe by the event `id`.
"""

import json

import dramatiq
import structlog
from sqlalchemy import text

from common.metrics import EVENTS_PUBLISHED
from common.notify import Message, channels
from common.settings import get_settings
from workers.broker import MAX_RETRIES
from workers.resources import resources

STREAM = "events"
STREAM_MAX_LENGTH = 100_000
BATCH_SIZE = 500
_log = structlog.get_logger("actors.events")

_CLAIM = text(
    "SELECT id, event_type, aggregate_id, payload, request_id, created_at FROM outbox"
    " WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
)
_MARK = text("UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(:ids)")


@dramatiq.actor(queue_name="default", max_retries=0)
async def relay_events() -> None:
    await publish_pending()


async def publish_pending() -> int:
    """Publishes every pending event; returns how many."""
    found = resources()
    published = 0
    while True:
        async with found.engine.begin() as conn:
            rows = (await conn.execute(_CLAIM, {"n": BATCH_SIZE})).all()
            if not rows:
                return published
            async with found.redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.xadd(STREAM, _fields(row), maxlen=STREAM_MAX_LENGTH, approximate=True)
                await pipe.execute()
            for row in rows:
                notify.send_with_options(args=(_fields(row),), request_id=row.request_id)
            await conn.execute(_MARK, {"ids": [row.id for row in rows]})
        published += len(rows)
        EVENTS_PUBLISHED.inc(len(rows))
        _log.info("events_published", count=len(rows))


def _fields(row) -> dict[str, str]:
    return {
        "id": str(row.id),
        "type": row.event_type,
        "aggregate_id": str(row.aggregate_id),
        "payload": json.dumps(row.payload),
        "request_id": row.request_id or "",
        "created_at": row.created_at.isoformat(),
    }


@dramatiq.actor(queue_name="default", max_retries=MAX_RETRIES)
async def notify(event: dict[str, str]) -> None:
    await deliver(event)


async def deliver(event: dict[str, str]) -> None:
    """Tells the customer, through every configured channel; raises (to retry) when one fails."""
    payload = json.loads(event["payload"])
    if not payload.get("notify", True):
        return
    found = resources()
    async with found.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT customer_name, customer_email FROM bookings WHERE id = :id"),
                {"id": event["aggregate_id"]},
            )
        ).first()
    if row is None:
        return
    message = Message(
        event_type=event["type"],
        booking_id=event["aggregate_id"],
        name=row.customer_name,
        email=found.pii.decrypt(row.customer_email) if row.customer_email else None,
        start_at=payload.get("start_at"),
    )
    for channel in channels(get_settings()):
        await channel.send(message)
