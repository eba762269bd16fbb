"""Publishing the outbox: events leave Postgres only after the change they describe.

The relay claims unpublished rows in id order (`db.outbox.claim` skips the rows
another relay holds, so relays never contend), appends them to the Redis stream
`events`, hands them to `notify` in batches (one message per batch, not per
booking: in a rush a message per event would cost the workers more than the
bookings themselves), and marks them published in the same transaction that
claimed them. In that transaction it also fans each event out to the webhooks
that want it (`actors/webhooks.py` delivers them, per endpoint). Delivery is at
least once: a relay that dies after the XADD and before its commit publishes those
events again, so consumers dedupe by the event `id`.

The booking funnel's committed steps are counted here, after that commit: each
hold, confirmation, cancellation and expiry writes exactly one event with its
change, whichever transaction made it (a hold batch also expires the lapsed
holds it finds), and an event published twice is counted once.
"""

import json
from collections import Counter
from dataclasses import replace

import aiohttp
import structlog
from sqlalchemy import Row

from actors.webhooks import wake
from common import keys
from common.metrics import BOOKING_FUNNEL, EVENTS_PUBLISHED
from common.notify import Message, calendar_for, channels
from common.pii import PiiKeys
from common.settings import Settings, get_settings
from db import bookings, outbox, webhooks
from workers.broker import MAX_RETRIES
from workers.resources import resources
from workers.tasks import NOTIFY, RELAY_EVENTS, declare

STREAM_MAX_LENGTH = 100_000
BATCH_SIZE = 500
NOTIFY_BATCH_SIZE = 100
_log = structlog.get_logger("actors.events")

FUNNEL_STEPS = {
    "booking.created": "held",
    "booking.confirmed": "confirmed",
    "booking.cancelled": "cancelled",
    "booking.expired": "expired",
}


@declare(RELAY_EVENTS, max_retries=0)
async def relay_events() -> None:
    await publish_pending()


async def publish_pending() -> int:
    """Publishes every pending event; returns how many."""
    found = resources()
    published = 0
    while True:
        async with found.engine.begin() as conn:
            rows = await outbox.claim(conn, BATCH_SIZE)
            if not rows:
                return published
            async with found.redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.xadd(keys.EVENTS, _fields(row), maxlen=STREAM_MAX_LENGTH, approximate=True)
                await pipe.execute()
            fields = [_fields(row) for row in rows]
            for start in range(0, len(fields), NOTIFY_BATCH_SIZE):
                notify.send(fields[start : start + NOTIFY_BATCH_SIZE])
            woken = await webhooks.fan_out(conn, rows)
            await outbox.mark_published(conn, [row.id for row in rows])
        await wake(found.redis, woken)
        published += len(rows)
        EVENTS_PUBLISHED.inc(len(rows))
        _count_funnel_steps(rows)
        _log.info("events_published", count=len(rows))


def _count_funnel_steps(rows: list[Row]) -> None:
    steps = Counter(FUNNEL_STEPS[r.event_type] for r in rows if r.event_type in FUNNEL_STEPS)
    for step, count in steps.items():
        BOOKING_FUNNEL.labels(step).inc(count)


def _fields(row) -> dict[str, str]:
    return {
        "id": str(row.id),
        "type": row.event_type,
        "aggregate_id": str(row.aggregate_id),
        "payload": json.dumps(row.payload),
        "request_id": row.request_id or "",
        "created_at": row.created_at.isoformat(),
    }


class DeliveryFailed(Exception):
    """A channel could not deliver; Dramatiq retries the message with backoff."""


@declare(NOTIFY, max_retries=MAX_RETRIES)
async def notify(events: list[dict[str, str]], only: list[str] | None = None) -> None:
    """Delivers a batch on every channel that is on (or, for a retry, on `only`).

    What failed is sent again as a message of its own, one event on one channel,
    which Dramatiq retries with backoff: nobody hears twice from a channel that
    delivered, and a retry carries the same idempotency key as the first attempt.
    """
    failed = await deliver(events, only)
    if only is not None and len(events) == 1 and failed:
        raise DeliveryFailed(f"event {events[0]['id']} was not delivered on {only}")
    for event, channel in failed:
        notify.send_with_options(args=([event], [channel]), request_id=event["request_id"] or None)


async def deliver(
    events: list[dict[str, str]], only: list[str] | None = None
) -> list[tuple[dict[str, str], str]]:
    """Tells each event's customer on every channel (or those in `only`); returns the
    (event, channel) pairs that failed."""
    wanted = [e for e in events if json.loads(e["payload"]).get("notify", True)]
    if not wanted:
        return []
    found = resources()
    settings = get_settings()
    async with found.engine.connect() as conn:
        customers = await bookings.contacts(conn, sorted({_booking_of(e) for e in wanted}))
    failed = []
    async with aiohttp.ClientSession() as session:
        chosen = [c for c in channels(settings, session) if only is None or c.name in only]
        for event in wanted:
            customer = customers.get(_booking_of(event))
            if customer is None:
                continue
            message = _message(event, customer, found.pii, settings)
            for channel in chosen:
                try:
                    await channel.send(message)
                except Exception as exc:  # one channel's failure must not stop the others
                    _log.warning(
                        "notification_failed",
                        event_id=event["id"],
                        channel=channel.name,
                        request_id=event["request_id"],
                        error=type(exc).__name__,
                    )
                    failed.append((event, channel.name))
    return failed


def _booking_of(event: dict[str, str]) -> str:
    """The booking an event is about (a waitlist offer names it in its payload)."""
    return json.loads(event["payload"]).get("booking_id") or event["aggregate_id"]


_NO_LINK = frozenset({"booking.cancelled", "booking.expired"})


def _message(event: dict[str, str], customer: Row, pii: PiiKeys, settings: Settings) -> Message:
    """The message for one event, contact details decrypted here, in the sending worker only."""
    token = customer.manage_token
    manage_url = None
    if token and event["type"] not in _NO_LINK:
        base = settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"
        manage_url = f"{base}/manage/{pii.decrypt(token)}"
    message = Message(
        event_type=event["type"],
        booking_id=_booking_of(event),
        name=customer.customer_name,
        email=pii.decrypt(customer.customer_email) if customer.customer_email else None,
        start_at=customer.start_at.isoformat(),
        request_id=event["request_id"],
        event_id=event["id"],
        phone=pii.decrypt(customer.customer_phone),
        location=customer.location_name,
        timezone=customer.timezone,
        locale=customer.locale,
        manage_url=manage_url,
    )
    return replace(message, calendar=calendar_for(message, customer.end_at))
