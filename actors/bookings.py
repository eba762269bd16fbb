"""Confirm, cancel and reschedule, applied by the lane drainer (`actors/holds.py`).

The web queues a change in the lane of the booking's hold, so a change that
arrives while its hold is still queued is applied after it. Changes of one lane
are applied one after the other, one transaction each (which also stores the
reply under the request's Idempotency-Key); lanes go side by side. Each outcome
then replaces the web's claim (or its 202) in Redis and goes to the waiting request.
"""

import asyncio
from datetime import datetime

from redis.asyncio import Redis

from common import keys, replies, stored_replies
from common.metrics import BOOKING_OUTCOMES, HOLD_TO_CONFIRM
from common.settings import get_settings
from db.bookings import Change, ChangeOutcome, apply_change
from workers.resources import resources


async def apply_changes(redis: Redis, lanes: list[list[Change]]) -> None:
    """Applies each lane's changes in order, the lanes concurrently; publishes the outcomes.

    A failure is raised once every lane has had its turn; nothing is published
    then, and the lanes keep their commands (applied ones replay their reply).
    """
    results = await asyncio.gather(
        *(_apply_in_order(lane) for lane in lanes), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    await publish(redis, [o for result in results for o in result])


async def _apply_in_order(changes: list[Change]) -> list[ChangeOutcome]:
    found = resources()
    ttl = get_settings().idempotency_ttl_seconds
    outcomes = []
    for change in changes:
        async with found.engine.begin() as conn:
            outcomes.append(await apply_change(conn, change, found.pii, ttl))
    return outcomes


async def publish(redis: Redis, outcomes: list[ChangeOutcome]) -> None:
    found = resources()
    ttl = get_settings().idempotency_ttl_seconds
    async with redis.pipeline(transaction=False) as pipe:
        for outcome in outcomes:
            change, status, body = outcome.change, outcome.status, outcome.body
            pipe.publish(change.reply_to, replies.encode(change.command_id, status, body))
            record = stored_replies.record(found.pii, change.digest, status, body)
            pipe.set(keys.idempotency(change.actor, change.key), record, ex=ttl)
            if status == 200 and change.kind in ("cancel", "reschedule"):
                pipe.delete(keys.hold(change.booking_id))
            if status == 200 and change.kind == "cancel":
                pipe.delete(keys.admission(body["booking"]["slot_id"]))
            if status == 200 and not outcome.replayed:
                _count(change.kind, body)
        await pipe.execute()


def _count(kind: str, body: dict) -> None:
    BOOKING_OUTCOMES.labels(_past_tense(kind)).inc()
    if kind == "confirm":
        _record_hold_to_confirm(body)


def _past_tense(kind: str) -> str:
    return {"confirm": "confirmed", "cancel": "cancelled", "reschedule": "rescheduled"}[kind]


def _record_hold_to_confirm(body: dict) -> None:
    booking = body["booking"]
    created = datetime.fromisoformat(booking["created_at"])
    confirmed = datetime.fromisoformat(booking["confirmed_at"])
    HOLD_TO_CONFIRM.observe((confirmed - created).total_seconds() * 1000)
