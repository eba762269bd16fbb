"""The lane drainer: hold commands for one lane, applied in arrival order, in batches.

A lane is a person (their overlapping slots compete for the same time) or a
location-scoped slot. The web appends commands to the lane's Redis list and sends
`drain_lane` unless one is already queued (the lane's wake key, cleared when the
message starts), so a rush on one lane costs one message per batch, not one per
request; whichever worker takes the lane's lock applies up to `BATCH_SIZE`
commands per Postgres transaction until the list is empty. Commands leave the list
only after their transaction committed and their replies were published; a worker
that dies in between leaves them to be applied again, which changes nothing (each
command's reply is stored with its booking).
"""

import json
import uuid

import dramatiq
import structlog
from redis.asyncio import Redis

from common import keys, replies
from common.metrics import BOOKING_OUTCOMES, SLOT_CONFLICTS
from common.settings import get_settings
from db.holds import Applied, HoldCommand, apply_holds
from workers.broker import MAX_RETRIES
from workers.resources import resources

BATCH_SIZE = 100
LOCK_MS = 5_000
"""A killed drainer blocks its lane this long at most; a live one renews it every batch."""
OUTCOME_TTL_SECONDS = 86_400
ADMISSION_MS = 5_000
"""How long the web may go by a slot's admission count without Postgres (docs/booking.md)."""

_OUTCOME_LABELS = {
    201: "held",
    "SLOT_FULL": "slot_full",
    "SLOT_UNAVAILABLE": "unavailable",
    "DUPLICATE_BOOKING": "duplicate",
    "NOT_FOUND": "not_found",
}
_log = structlog.get_logger("actors.holds")

# Trims the batch off the list only if it is still at the head: a second drainer
# (after a lock expired) may already have applied and trimmed it.
_TRIM_IF_HEAD = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LTRIM', KEYS[1], tonumber(ARGV[2]), -1)
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dramatiq.actor(queue_name="holds", max_retries=MAX_RETRIES)
async def drain_lane(lane: str) -> None:
    redis = resources().redis
    token = str(uuid.uuid4())
    await redis.delete(keys.lane_wake(lane))
    if not await redis.set(keys.lane_lock(lane), token, nx=True, px=LOCK_MS):
        return
    try:
        while await _apply_next_batch(lane):
            await redis.pexpire(keys.lane_lock(lane), LOCK_MS)
    finally:
        await redis.eval(_RELEASE, 1, keys.lane_lock(lane), token)
    if await redis.llen(keys.lane(lane)) and await redis.set(
        keys.lane_wake(lane), "1", nx=True, px=LOCK_MS
    ):
        drain_lane.send(lane)


async def _apply_next_batch(lane: str) -> bool:
    found = resources()
    settings = get_settings()
    raw = await found.redis.lrange(keys.lane(lane), 0, BATCH_SIZE - 1)
    if not raw:
        return False
    commands = [HoldCommand.loads(item) for item in raw]
    async with found.engine.begin() as conn:
        applied = await apply_holds(
            conn,
            commands,
            found.pii,
            settings.hold_ttl_seconds,
            settings.idempotency_ttl_seconds,
        )
    await publish(found.redis, applied)
    await found.redis.eval(_TRIM_IF_HEAD, 1, keys.lane(lane), raw[0], len(raw))
    _log.info("lane_batch_applied", lane=lane, commands=len(commands))
    return True


async def publish(redis: Redis, applied: Applied) -> None:
    """Hands each outcome to its requester (waiting, replaying or polling); counts what is left."""
    settings = get_settings()
    async with redis.pipeline(transaction=False) as pipe:
        for slot_id, left in applied.left.items():
            valid_ms = min(ADMISSION_MS, left.valid_ms or ADMISSION_MS)
            if valid_ms > 0:
                pipe.set(keys.admission(slot_id), left.count, px=valid_ms)
        for outcome in applied.outcomes:
            command = outcome.command
            pipe.publish(
                command.reply_to, replies.encode(command.command_id, outcome.status, outcome.body)
            )
            record = {
                "state": "done",
                "hash": command.digest,
                "status": outcome.status,
                "body": outcome.body,
            }
            pipe.set(
                keys.idempotency(command.actor, command.key),
                json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False),
                ex=settings.idempotency_ttl_seconds,
            )
            pipe.delete(keys.pending(command.booking_id))
            if outcome.status == 201:
                pipe.set(
                    keys.hold(command.booking_id), command.slot_id, ex=settings.hold_ttl_seconds
                )
            else:
                owned = {"owner": command.actor, "status": outcome.status, "body": outcome.body}
                pipe.set(
                    keys.outcome(command.booking_id), json.dumps(owned), ex=OUTCOME_TTL_SECONDS
                )
            label = _OUTCOME_LABELS.get(outcome.status) or _OUTCOME_LABELS.get(
                outcome.code, "other"
            )
            BOOKING_OUTCOMES.labels(label).inc()
            if outcome.status == 409:
                SLOT_CONFLICTS.labels(outcome.code).inc()
        await pipe.execute()
