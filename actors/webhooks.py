"""Webhook deliveries, run per endpoint so that a slow or dead one holds up only itself.

The relay fans each event out to the webhooks that want it, in the transaction
that publishes it (`db/webhooks.fan_out`), and wakes each of them. One
`deliver_webhook` message per webhook is queued at most (the wake key) and one
runner per webhook works at a time (the lock), so an endpoint takes one worker
thread at most, whatever its backlog. A runner claims due deliveries in batches,
sends a batch concurrently (each attempt with its own time limit,
`WEBHOOK_TIMEOUT_SECONDS`), records how each went (a failure is due again after
the next delay of `WEBHOOK_RETRY_SECONDS`, and fails for good after the last),
and goes on until nothing is due or its turn is over; then it wakes itself again
if more is due. Every second a scheduler wakes the webhooks whose retries came
due or whose runner died (`wake_webhooks`).

Deliveries follow the Standard Webhooks specification, signed with the
`standardwebhooks` library: `webhook-id` is the event id (the same on every
attempt, so receivers can drop repeats), `webhook-timestamp` the attempt's time,
`webhook-signature` the HMAC of both and the body. `X-Request-Id` names the
request that caused the event.
"""

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any

import aiohttp
import structlog
from redis.asyncio import Redis
from sqlalchemy import Row
from standardwebhooks import Webhook

from common import keys, outbound
from common.settings import Settings, get_settings
from db import bookings, webhooks
from domain import webhooks as rules
from workers.resources import Resources, resources
from workers.tasks import DELIVER_WEBHOOK, WAKE_WEBHOOKS, declare

BATCH_SIZE = 250
CONNECTIONS = 16
"""Attempts in flight to one endpoint at once."""
TURN_SECONDS = 20
"""A runner stops claiming after this long and queues its webhook again if more is due."""
LOCK_MS = 120_000
"""Outlasts a turn and its last batch; renewed after every batch."""
WAKE_MS = 30_000
"""A queued message not started by then is presumed lost, and sent again."""
LEASE_MARGIN_SECONDS = 30
USER_AGENT = "GeneralScheduler-Webhooks/1"
_log = structlog.get_logger("actors.webhooks")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def wake(redis: Redis, webhook_ids: list[str]) -> None:
    """Queues a runner for each webhook unless one is queued already."""
    if not webhook_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for webhook_id in webhook_ids:
            pipe.set(keys.webhook_wake(webhook_id), "1", nx=True, px=WAKE_MS)
        woken = await pipe.execute()
    for webhook_id, send in zip(webhook_ids, woken, strict=True):
        if send:
            deliver_webhook.send(webhook_id)


@declare(WAKE_WEBHOOKS, max_retries=0)
async def wake_webhooks() -> None:
    await wake_due()


async def wake_due() -> list[str]:
    """Wakes every webhook with deliveries due; returns them."""
    found = resources()
    async with found.engine.connect() as conn:
        due = await webhooks.due(conn)
    await wake(found.redis, due)
    return due


@declare(DELIVER_WEBHOOK, max_retries=0)
async def deliver_webhook(webhook_id: str) -> None:
    found = resources()
    await found.redis.delete(keys.webhook_wake(webhook_id))
    lock, token = keys.webhook_lock(webhook_id), str(uuid.uuid4())
    if not await found.redis.set(lock, token, nx=True, px=LOCK_MS):
        return  # the runner holding it goes on while anything is due
    try:
        more = await _turn(found, webhook_id, lock)
    finally:
        await found.redis.eval(_RELEASE, 1, lock, token)
    if more:
        await wake(found.redis, [webhook_id])


async def _turn(found: Resources, webhook_id: str, lock: str) -> bool:
    """Delivers what is due until nothing is or the turn is over; True if more may be due.

    A batch's attempts are recorded in the transaction that claims the next batch.
    """
    settings = get_settings()
    async with found.engine.connect() as conn:
        hook = await webhooks.one(conn, uuid.UUID(webhook_id))
    if hook is None or not hook.active:
        return False
    signer = Webhook(found.pii.decrypt(hook.secret))
    lease = settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    ends = time.monotonic() + TURN_SECONDS
    async with found.engine.begin() as conn:
        due = await webhooks.claim_due(conn, webhook_id, BATCH_SIZE, lease)
    async with outbound.session(settings.webhook_allow_private, CONNECTIONS) as http:
        while due:
            refused = await _refusal(hook.url, settings)
            customers = await _customers(found, due) if hook.include_customer else {}
            attempts = await asyncio.gather(
                *(_attempt(http, hook.url, signer, d, customers, refused, settings) for d in due)
            )
            more = time.monotonic() < ends
            async with found.engine.begin() as conn:
                await webhooks.record(conn, webhook_id, attempts)
                due = await webhooks.claim_due(conn, webhook_id, BATCH_SIZE, lease) if more else []
            await found.redis.pexpire(lock, LOCK_MS)
            delivered = sum(a.delivered for a in attempts)
            _log.info(
                "webhook_batch", webhook_id=webhook_id, sent=len(attempts), delivered=delivered
            )
            if not more:
                return True
    return False


async def _refusal(url: str, settings: Settings) -> str | None:
    """Why the URL may not be called now (it is checked at every batch), or None."""
    try:
        await outbound.check_url(url, settings.webhook_allow_http, settings.webhook_allow_private)
    except outbound.UnsafeTarget as exc:
        return str(exc)
    return None


def _booking_id(delivery: Row) -> str:
    return str(delivery.payload.get("booking_id") or delivery.aggregate_id)


async def _customers(found: Resources, due: list[Row]) -> dict[str, dict[str, Any]]:
    """The customers of the deliveries' bookings, in clear, for a webhook that asked."""
    async with found.engine.connect() as conn:
        rows = await bookings.contacts(conn, sorted({_booking_id(d) for d in due}))
    pii = found.pii
    return {
        booking_id: {
            "name": row.customer_name,
            "phone": pii.decrypt(row.customer_phone),
            "email": pii.decrypt(row.customer_email) if row.customer_email else None,
        }
        for booking_id, row in rows.items()
    }


async def _attempt(
    http: aiohttp.ClientSession,
    url: str,
    signer: Webhook,
    delivery: Row,
    customers: dict[str, dict[str, Any]],
    refused: str | None,
    settings: Settings,
) -> webhooks.Attempt:
    status, error = None, refused
    if refused is None:
        status, error = await _post(http, url, signer, delivery, customers, settings)
    delivered = error is None
    delay = (
        None
        if delivered
        else rules.retry_delay(delivery.attempts + 1, settings.webhook_retry_seconds)
    )
    retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay) if delay is not None else None
    return webhooks.Attempt(delivery.event_id, delivered, status, error, retry_at)


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    signer: Webhook,
    delivery: Row,
    customers: dict[str, dict[str, Any]],
    settings: Settings,
) -> tuple[int | None, str | None]:
    """(HTTP status, why it failed) of one attempt: (2xx, None) when delivered."""
    booking_id = _booking_id(delivery)
    body = rules.body(
        delivery.event_type,
        delivery.created_at,
        delivery.payload,
        booking_id,
        customers.get(booking_id),
    )
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    event_id, now = str(delivery.event_id), dt.datetime.now(dt.UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(event_id, now, data),
    }
    if delivery.request_id:
        headers["X-Request-Id"] = delivery.request_id
    timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
    try:
        async with http.post(
            url, data=data.encode(), headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            if 200 <= response.status < 300:
                return response.status, None
            return response.status, f"HTTP {response.status}"
    except TimeoutError:
        return None, "timeout"
    except aiohttp.ClientConnectorDNSError as exc:
        return None, str(exc.os_error) if isinstance(exc.os_error, outbound.UnsafeTarget) else "dns"
    except aiohttp.ClientError as exc:
        return None, type(exc).__name__
