"""The drainer: holds and changes applied in arrival order per lane, many lanes a batch.

A lane is a person (their overlapping slots compete for the same time) or a
location-scoped slot. The web appends a command to its lane's Redis list, marks
the lane ready and sends `drain_lanes` unless one is already queued (the wake
key, cleared when the message starts): a rush costs one message per batch, not
one per request. A drainer takes up to `LANES_PER_BATCH` ready lanes, locks them
(one drainer per lane, so each lane keeps its order) and applies the commands at
the head of each: up to `BATCH_SIZE` holds of every lane in one Postgres
transaction, or up to `CHANGES_PER_LANE` changes (confirm, cancel, reschedule,
one transaction each, `actors/bookings.py`), again and again until no lane is
ready. A change queued behind a hold of its booking is thus applied after it. A
lane it finds locked is left to its holder, who marks it ready again if commands
came meanwhile. Commands leave a list only after their transaction committed and
their replies were published; a worker that dies in between leaves them to be
applied again, which changes nothing (each command's reply is stored with its
booking).
"""

import json
import uuid

import dramatiq
import structlog
from redis.asyncio import Redis

from actors.bookings import apply_changes
from common import keys, replies, stored_replies
from common.metrics import BOOKING_OUTCOMES, SLOT_CONFLICTS
from common.pii import PiiKeys
from common.settings import get_settings
from db.bookings import Change
from db.holds import Applied, HoldCommand, apply_holds
from workers.broker import MAX_RETRIES
from workers.resources import resources

BATCH_SIZE = 100
"""Hold commands of one lane in one batch."""
CHANGES_PER_LANE = 10
"""Changes of one lane in one batch: each is its own transaction, and the lane lock is short."""
LANES_PER_BATCH = 32
LOCK_MS = 5_000
"""A killed drainer blocks its lanes this long at most."""
OUTCOME_TTL_SECONDS = 86_400
ADMISSION_MS = 5_000
"""How long the web may go by a slot's admission count without Postgres (docs/booking.md)."""


def admission_ms(valid_ms: int | None) -> int:
    """How long an admission count may live: `ADMISSION_MS`, less if a hold lapses sooner."""
    return ADMISSION_MS if valid_ms is None else min(ADMISSION_MS, valid_ms)


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
async def drain_lanes() -> None:
    redis = resources().redis
    await redis.delete(keys.DRAIN_WAKE)
    while lanes := await redis.spop(keys.READY_LANES, LANES_PER_BATCH):
        await _drain(redis, lanes)


async def _drain(redis: Redis, lanes: list[str]) -> None:
    token = str(uuid.uuid4())
    async with redis.pipeline(transaction=False) as pipe:
        for lane in lanes:
            pipe.set(keys.lane_lock(lane), token, nx=True, px=LOCK_MS)
        taken = await pipe.execute()
    locked = [lane for lane, ok in zip(lanes, taken, strict=True) if ok]
    try:
        await _apply_isolating_failures(redis, locked)
    finally:
        async with redis.pipeline(transaction=False) as pipe:
            for lane in locked:
                pipe.eval(_RELEASE, 1, keys.lane_lock(lane), token)
                pipe.llen(keys.lane(lane))
            released = await pipe.execute()
        # Commands that came while the lanes were locked (or were not applied) wait again.
        waiting = [lane for lane, left in zip(locked, released[1::2], strict=True) if left]
        if waiting:
            await redis.sadd(keys.READY_LANES, *waiting)


async def _apply_isolating_failures(redis: Redis, lanes: list[str]) -> None:
    """One batch for all the lanes; if it fails, one per lane, so that a command that
    cannot be applied holds up its own lane only (the error then retries the message)."""
    try:
        await _apply_batch(redis, lanes)
        return
    except Exception:
        if len(lanes) <= 1:
            raise
    failures = []
    for lane in lanes:
        try:
            await _apply_batch(redis, [lane])
        except Exception as exc:  # re-raised below, after the other lanes had their turn
            failures.append(exc)
    if failures:
        raise failures[0]


async def _apply_batch(redis: Redis, lanes: list[str]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for lane in lanes:
            pipe.lrange(keys.lane(lane), 0, BATCH_SIZE - 1)
        pending = dict(zip(lanes, await pipe.execute(), strict=True))
    heads = {lane: _head(raw) for lane, raw in pending.items() if raw}
    if not heads:
        return
    holds = [c for lane_holds, _ in heads.values() for c in lane_holds]
    changes = [lane_changes for _, lane_changes in heads.values() if lane_changes]
    found = resources()
    if holds:
        settings = get_settings()
        async with found.engine.begin() as conn:
            applied = await apply_holds(
                conn,
                holds,
                found.pii,
                settings.hold_ttl_seconds,
                settings.idempotency_ttl_seconds,
            )
        await publish(redis, found.pii, applied)
    if changes:
        await apply_changes(redis, changes)
    async with redis.pipeline(transaction=False) as pipe:
        for lane, (lane_holds, lane_changes) in heads.items():
            taken = len(lane_holds) + len(lane_changes)
            pipe.eval(_TRIM_IF_HEAD, 1, keys.lane(lane), pending[lane][0], taken)
        await pipe.execute()
    request_ids = {c.request_id for c in holds} | {c.request_id for run in changes for c in run}
    _log.info(
        "lanes_batch_applied",
        lanes=len(lanes),
        commands=len(holds) + sum(len(run) for run in changes),
        request_ids=sorted(r for r in request_ids if r),
    )


def _head(raw: list[str]) -> tuple[list[HoldCommand], list[Change]]:
    """The commands at the head of a lane that one batch applies: holds, or changes.

    Only the head is applied, so nothing queued behind a command is applied before it.
    """
    first = _parse(raw[0])
    if isinstance(first, HoldCommand):
        holds = [first]
        for item in raw[1:BATCH_SIZE]:
            command = _parse(item)
            if not isinstance(command, HoldCommand):
                break
            holds.append(command)
        return holds, []
    changes = [first]
    for item in raw[1:CHANGES_PER_LANE]:
        command = _parse(item)
        if not isinstance(command, Change):
            break
        changes.append(command)
    return [], changes


def _parse(raw: str) -> HoldCommand | Change:
    fields = json.loads(raw)
    return Change(**fields) if "kind" in fields else HoldCommand(**fields)


async def publish(redis: Redis, pii: PiiKeys, applied: Applied) -> None:
    """Hands each outcome to its requester (waiting, replaying or polling); counts what is left."""
    settings = get_settings()
    async with redis.pipeline(transaction=False) as pipe:
        for slot_id, left in applied.left.items():
            valid_ms = admission_ms(left.valid_ms)
            if valid_ms > 0:
                pipe.set(keys.admission(slot_id), left.count, px=valid_ms)
        for outcome in applied.outcomes:
            command = outcome.command
            pipe.publish(
                command.reply_to, replies.encode(command.command_id, outcome.status, outcome.body)
            )
            record = stored_replies.record(pii, command.digest, outcome.status, outcome.body)
            pipe.set(
                keys.idempotency(command.actor, command.key),
                record,
                ex=settings.idempotency_ttl_seconds,
            )
            if outcome.status == 201:
                pipe.set(
                    keys.hold(command.booking_id), command.slot_id, ex=settings.hold_ttl_seconds
                )
            else:
                owned = {"owner": command.actor, "status": outcome.status, "body": outcome.body}
                pipe.set(
                    keys.outcome(command.booking_id), json.dumps(owned), ex=OUTCOME_TTL_SECONDS
                )
            # Only once the outcome is readable: a poll that misses the mark must find it.
            pipe.delete(keys.pending(command.booking_id))
            label = _OUTCOME_LABELS.get(outcome.status) or _OUTCOME_LABELS.get(
                outcome.code, "other"
            )
            BOOKING_OUTCOMES.labels(label).inc()
            if outcome.status == 409:
                SLOT_CONFLICTS.labels(outcome.code).inc()
        await pipe.execute()
