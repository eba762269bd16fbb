"""Lanes: how booking commands travel from the web to the workers, in order.

A lane is a person (their overlapping slots compete for the same time) or a
location-scoped slot. Every command about a lane's slots (a hold, or a change to
a booking held there) is appended to the lane's Redis list, and the lane is
marked ready. A drainer takes up to `LANES_PER_BATCH` ready lanes, locks them
(one drainer per lane, so each lane keeps its order) and applies the commands at
the head of each: up to `BATCH_SIZE` holds of every lane in one batch, or up to
`CHANGES_PER_LANE` changes of each lane, again and again until no lane is ready.
A change queued behind its booking's hold is thus applied after it. A lane found
locked is left to its holder, who marks it ready again if commands came
meanwhile. Commands leave a list only after they were applied and their outcomes
published; a drainer that dies in between leaves them to be applied again, which
changes nothing (each outcome is stored with what it decided). The scheduler's
sweep marks ready the lanes whose drainer died (`sweep`).

Waking: one drainer stays on (`drain`): when no lane is ready it parks on a
blocking read of the signal list, which every command pushes to, so a command
that finds no work in progress is applied at once, without a message. The live
drainer claims the wake key and renews it every turn; the web sends a
`drain_lanes` message only when the key is not set (no drainer is live or
queued: it was killed, or the workers just started). A drainer hands over to a
fresh message after `LIFETIME_SECONDS` (Dramatiq's time limit bounds a message),
and a newer drainer's claim ends an older one after its batch, so one stays on.
When a turn finds more lanes ready than one batch takes, it sends a helper
(`help_drain`, at most one per `HELP_MS`): helpers drain side by side on other
threads and processes until no lane is ready, then end; they neither claim nor park.

Pending marks: while a hold is queued, `pending:{booking}` names its owner and
lane, so a poll can say `pending` and a change can find the lane of a hold not
yet applied. A refused hold leaves its outcome under `outcome:{booking}` for the
poll that follows a 202.

The admission count `admit:{slot}` is what the web may assume is left of a slot
without asking Postgres (docs/booking.md): only ever set from Postgres (after
each batch, exact; or by the web's first look at a slot, which can only be too
high), living `ADMISSION_MS` at most and never past the first hold deadline among
the slots a batch locked; each admitted request takes one (`ADMISSION_LUA`);
whatever frees capacity deletes it.
"""

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from redis.asyncio import Redis

from common import keys
from db.errors import rejected_data
from domain.commands import Change, Command, HoldCommand, dumps, loads
from domain.outcomes import Outcome

BATCH_SIZE = 100
"""Hold commands of one lane in one batch."""
CHANGES_PER_LANE = 10
"""Changes of one lane in one batch: each is its own transaction, and the lane lock is short."""
LANES_PER_BATCH = 32
LOCK_MS = 5_000
"""A killed drainer blocks its lanes this long at most."""
DRAIN_WAKE_MS = 2_000
"""A drainer's claim not renewed for this long (it was killed), or a queued message
not started by then (lost), lets the web send a message again."""
PARK_SECONDS = 0.5
"""One blocking read of a parked drainer; between reads it renews its claim."""
LIFETIME_SECONDS = 60.0
"""A drainer hands over to a fresh message after this long (within Dramatiq's time limit)."""
HELP_MS = 200
"""While lanes wait beyond a full batch, one more helper is sent this often at most."""
ADMISSION_MS = 5_000
"""How long the web may go by a slot's admission count without Postgres."""
PROBE_MS = 1_000
"""In a count's last `PROBE_MS`, one request a window goes through to renew it."""
OUTCOME_TTL_SECONDS = 86_400


def lane_for(person_id: object | None, slot_id: object) -> str:
    return str(person_id or slot_id)


# --- the web's side -------------------------------------------------------------------


def append(lane: str, command: Command) -> list[tuple[Any, ...]]:
    """The Redis commands that queue `command` in `lane`, to send in one round trip.

    The last reply is true when the caller must send a `drain_lanes` message: no
    drainer is live or queued (a live one takes this command too, and one holding
    the lane marks it ready again after releasing it).
    """
    return [
        ("RPUSH", keys.lane(lane), dumps(command)),
        ("SADD", keys.ACTIVE_LANES, lane),
        ("SADD", keys.READY_LANES, lane),
        *signal(),
        ("SET", keys.DRAIN_WAKE, "queued", "NX", "PX", DRAIN_WAKE_MS),
    ]


def signal() -> list[tuple[Any, ...]]:
    """The Redis commands that wake a parked drainer (the list keeps one element at most)."""
    return [("LPUSH", keys.LANES_SIGNAL, "1"), ("LTRIM", keys.LANES_SIGNAL, 0, 0)]


def mark_pending(booking_id: str, owner: str, lane: str, ttl_seconds: int) -> tuple[Any, ...]:
    """The Redis command marking a hold as queued (sent with `append`'s commands)."""
    mark = json.dumps({"owner": owner, "lane": lane})
    return ("SET", keys.pending(booking_id), mark, "EX", ttl_seconds)


@dataclass(frozen=True)
class Pending:
    owner: str
    lane: str


def pending(raw: str | None) -> Pending | None:
    """A pending mark as read from `pending:{booking}`."""
    if raw is None:
        return None
    mark = json.loads(raw)
    return Pending(mark["owner"], mark["lane"])


def admission_ms(valid_ms: int | None) -> int:
    """How long an admission count may live: `ADMISSION_MS`, less if a hold lapses sooner."""
    return ADMISSION_MS if valid_ms is None else min(ADMISSION_MS, valid_ms)


def first_count(slot_id: str, left: int, valid_ms: int | None) -> tuple[Any, ...] | None:
    """The Redis command giving a slot its first admission count, unless it has one."""
    lifetime = admission_ms(valid_ms)
    if lifetime <= 0:
        return None
    return ("SET", keys.admission(slot_id), left, "NX", "PX", lifetime)


# A Lua function for the web's one-call admission script: whether a request may go
# on to the workers. It takes one from the count; at zero it refuses, except that in
# the count's last PROBE_MS one request a window goes on to be checked, so a count
# still true is renewed before it lapses rather than letting a wave of requests
# through when it does. No count: everyone goes on.
ADMISSION_LUA = """
local function admit(count_key, probe_key, probe_ms)
  if count_key == '' then return true end
  local left = tonumber(redis.call('GET', count_key))
  if not left then return true end
  if left > 0 then
    redis.call('DECR', count_key)
    return true
  end
  return redis.call('PTTL', count_key) <= probe_ms
    and redis.call('SET', probe_key, '1', 'NX', 'PX', probe_ms) ~= false
end
"""


# --- the workers' side -------------------------------------------------------------------

Publish = Callable[[Any], None]
"""Adds to a Redis pipeline the commands that hand a batch's outcomes to their requesters."""
Apply = Callable[[list[HoldCommand], list[list[Change]]], Awaitable[Publish]]
"""Applies one batch: the holds of every lane together, and each lane's changes in order.

Returns what publishes its outcomes: the drainer sends that in one round trip with the
commands that take the batch off its lanes and release them, publishing first.
"""
Refuse = Callable[[Command, BaseException], Publish]
"""What hands a command Postgres refuses on every try its final outcome (INTERNAL)."""

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
# Releases a lane's lock (if still ours) and marks the lane ready again if commands
# came while it was locked (or were not applied).
_RELEASE_LANE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('LLEN', KEYS[2]) > 0 then return redis.call('SADD', KEYS[3], ARGV[2]) end
return 0
"""


# Renews a drainer's claim on the wake key (or claims it again if it lapsed during a
# long batch), unless a newer drainer took it over or a message for one was sent.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
"""


async def drain(
    client: Redis,
    apply: Apply,
    refuse: Refuse,
    relay: Callable[[], None],
    stopping: Callable[[], bool],
    helper: Callable[[], None],
) -> None:
    """Applies ready lanes as they come (the body of the `drain_lanes` task).

    Parks on the signal list while no lane is ready; after `LIFETIME_SECONDS`
    sends `relay` (a fresh message) while still holding its claim, so no command
    waits for the web to send one. Ends early, after its batch, when a newer
    drainer claimed the wake key (or a message for one was sent); and when
    `stopping` (its worker stops), letting its claim go and relaying any lane
    still ready to the other workers.
    """
    claim = str(uuid.uuid4())
    await client.set(keys.DRAIN_WAKE, claim, px=DRAIN_WAKE_MS)
    ends = time.monotonic() + LIFETIME_SECONDS
    while not stopping():
        async with client.pipeline(transaction=False) as pipe:
            pipe.eval(_RENEW, 1, keys.DRAIN_WAKE, claim, DRAIN_WAKE_MS)
            pipe.spop(keys.READY_LANES, LANES_PER_BATCH)
            renewed, lanes = await pipe.execute()
        if lanes:
            await _ask_for_help(client, lanes, helper)
            await _drain(client, apply, refuse, lanes)
        if not renewed:
            return
        if time.monotonic() >= ends:
            relay()
            return
        if not lanes:
            await client.blpop([keys.LANES_SIGNAL], timeout=PARK_SECONDS)
    await client.eval(_RELEASE, 1, keys.DRAIN_WAKE, claim)
    if await client.scard(keys.READY_LANES):
        relay()


async def help_drain(
    client: Redis, apply: Apply, refuse: Refuse, helper: Callable[[], None]
) -> None:
    """Applies ready lanes until none is left, beside the live drainer (the body of a
    `drain_lanes` message sent as a helper)."""
    while lanes := await client.spop(keys.READY_LANES, LANES_PER_BATCH):
        await _ask_for_help(client, lanes, helper)
        await _drain(client, apply, refuse, lanes)


async def _ask_for_help(client: Redis, lanes: list[str], helper: Callable[[], None]) -> None:
    """Sends one more helper if a full batch left lanes waiting and none was sent lately."""
    if len(lanes) < LANES_PER_BATCH or not await client.scard(keys.READY_LANES):
        return
    if await client.set(keys.DRAIN_HELP, "1", nx=True, px=HELP_MS):
        helper()


async def _drain(client: Redis, apply: Apply, refuse: Refuse, lanes: list[str]) -> None:
    token = str(uuid.uuid4())
    queued = await _lock(client, lanes, token)
    async with client.pipeline(transaction=False) as pipe:
        try:
            await _apply_isolating_failures(apply, refuse, queued, pipe)
        finally:
            for lane in queued:
                pipe.eval(
                    _RELEASE_LANE, 3, keys.lane_lock(lane), keys.lane(lane), keys.READY_LANES,
                    token, lane,
                )  # fmt: skip
            await pipe.execute()


async def _lock(client: Redis, lanes: list[str], token: str) -> dict[str, list[str]]:
    """Locks the lanes no other drainer holds; the commands at the head of each.

    Every lane's head is read with its lock, in one round trip: a lane locked by
    another drainer is read for nothing, which costs less than a second trip.
    """
    async with client.pipeline(transaction=False) as pipe:
        for lane in lanes:
            pipe.set(keys.lane_lock(lane), token, nx=True, px=LOCK_MS)
            pipe.lrange(keys.lane(lane), 0, BATCH_SIZE - 1)
        replies = await pipe.execute()
    taken, heads = replies[::2], replies[1::2]
    return {lane: raw for lane, ok, raw in zip(lanes, taken, heads, strict=True) if ok}


async def _apply_isolating_failures(
    apply: Apply, refuse: Refuse, queued: dict[str, list[str]], pipe: Any
) -> None:
    """One batch for all the lanes; if it fails, one per lane, so that a command that
    cannot be applied holds up its own lane only (the error then retries the message)."""
    try:
        await _apply_batch(apply, queued, pipe)
        return
    except Exception as exc:
        if len(queued) == 1:
            ((lane, raw),) = queued.items()
            await _after_failure(apply, refuse, lane, raw, pipe, exc)
            return
    failures = []
    for lane, raw in queued.items():
        try:
            await _apply_lane(apply, refuse, lane, raw, pipe)
        except Exception as exc:  # re-raised below, after the other lanes had their turn
            failures.append(exc)
    if failures:
        raise failures[0]


async def _apply_lane(apply: Apply, refuse: Refuse, lane: str, raw: list[str], pipe: Any) -> None:
    try:
        await _apply_batch(apply, {lane: raw}, pipe)
    except Exception as exc:
        await _after_failure(apply, refuse, lane, raw, pipe, exc)


async def _after_failure(
    apply: Apply, refuse: Refuse, lane: str, raw: list[str], pipe: Any, error: Exception
) -> None:
    """After a lane's batch failed: if Postgres refused its data, the lane's first command
    is tried alone, and if Postgres refuses that too it is answered INTERNAL and taken off
    the lane, rather than holding up every command behind it on every retry; the rest
    follow in the next batch. Any other failure (Postgres or Redis down) is raised.

    The first command is tried alone even when it was alone in the batch: a second
    drainer (after a lock lapsed) may have committed it meanwhile, and the unique keys
    refuse the first one's writes; a new transaction finds its stored reply instead.
    """
    if not rejected_data(error):
        raise error
    try:
        await _apply_batch(apply, {lane: raw[:1]}, pipe)
        return
    except Exception as alone:
        if not rejected_data(alone):
            raise
        error = alone
    refuse(loads(raw[0]), error)(pipe)
    pipe.eval(_TRIM_IF_HEAD, 1, keys.lane(lane), raw[0], 1)


async def _apply_batch(apply: Apply, queued: dict[str, list[str]], pipe: Any) -> None:
    """Applies the lanes' heads; adds to `pipe` their outcomes, then their trims."""
    heads = {lane: _head(raw) for lane, raw in queued.items() if raw}
    if not heads:
        return
    holds = [c for commands in heads.values() for c in commands if isinstance(c, HoldCommand)]
    changes = [commands for commands in heads.values() if isinstance(commands[0], Change)]
    publish = await apply(holds, changes)  # type: ignore[arg-type]  # _head keeps a head's kind
    publish(pipe)
    for lane, commands in heads.items():
        pipe.eval(_TRIM_IF_HEAD, 1, keys.lane(lane), queued[lane][0], len(commands))


def _head(raw: list[str]) -> list[Command]:
    """The commands at the head of a lane that one batch applies: holds, or changes.

    Only the head is applied, so nothing queued behind a command is applied before it.
    """
    first = loads(raw[0])
    limit = BATCH_SIZE if isinstance(first, HoldCommand) else CHANGES_PER_LANE
    head: list[Command] = [first]
    for item in raw[1:limit]:
        command = loads(item)
        if type(command) is not type(first):
            break
        head.append(command)
    return head


def settle_holds(pipe: Any, decided: list[tuple[HoldCommand, Outcome]]) -> None:
    """After the holds' outcomes are stored: drops their pending marks, keeping each
    refusal for polls. The refusals are written before the marks go, so a poll always
    finds one or the other."""
    for command, outcome in decided:
        if outcome.code is not None:
            owned = json.dumps({"owner": command.subject, "outcome": outcome.to_json()})
            pipe.set(keys.outcome(command.booking_id), owned, ex=OUTCOME_TTL_SECONDS)
    if decided:
        pipe.delete(*(keys.pending(command.booking_id) for command, _ in decided))


def refused_hold(raw: str | None, owner: str) -> dict[str, Any] | None:
    """A refused hold's outcome as read from `outcome:{booking}`, if `owner` asked for it."""
    if raw is None:
        return None
    owned = json.loads(raw)
    return owned["outcome"] if owned["owner"] == owner else None


def set_counts(pipe: Any, counts: dict[str, tuple[int, int | None]]) -> None:
    """Sets each slot's admission count from a batch: slot id -> (left, valid ms)."""
    for slot_id, (left, valid_ms) in counts.items():
        lifetime = admission_ms(valid_ms)
        if lifetime > 0:
            pipe.set(keys.admission(slot_id), left, px=lifetime)


def forget_counts(pipe: Any, slot_ids: Iterable[str]) -> None:
    """Drops the counts of slots that got capacity back: the next request asks Postgres."""
    for slot_id in slot_ids:
        pipe.delete(keys.admission(slot_id))


# --- the scheduler's side -----------------------------------------------------------------

# Forgets an idle lane only if it is still empty when forgotten.
_FORGET_IF_EMPTY = """
if redis.call('LLEN', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end
return 0
"""


def sweep(client: redis.Redis, wake: Callable[[], None]) -> int:
    """Marks ready the lanes that hold commands and that no drainer will take.

    A drainer killed mid-batch took its lanes off the ready set; once their locks
    lapse this marks them ready again. A lane still ready waits for the live
    drainer, unless there is none (its claim lapsed). Either way it signals and
    sends a drainer: a newer one takes over (Dramatiq would redeliver the killed
    worker's message only after the broker's heartbeat timeout). Returns how many
    lanes it marked.
    """
    live = client.exists(keys.DRAIN_WAKE)
    kicked = []
    for raw in client.smembers(keys.ACTIVE_LANES):
        lane = raw.decode() if isinstance(raw, bytes) else raw
        if client.llen(keys.lane(lane)) == 0:
            client.eval(_FORGET_IF_EMPTY, 2, keys.ACTIVE_LANES, keys.lane(lane), lane)
        elif client.exists(keys.lane_lock(lane)):
            continue
        elif not live or not client.sismember(keys.READY_LANES, lane):
            kicked.append(lane)
    if kicked:
        client.sadd(keys.READY_LANES, *kicked)
        for command in signal():
            client.execute_command(*command)
        wake()
    return len(kicked)
