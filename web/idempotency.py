"""Idempotent mutations, keyed by (Idempotency-Key, actor).

Redis answers the common case fast: the first request claims the key as
`pending`, its reply replaces the claim for `IDEMPOTENCY_TTL_SECONDS`. The claim
is one script call that also spends the caller's rate-limit budget and, when the
route knows its answer already (a slot with nothing left), stores that answer
instead of a claim: the hot path of a rush costs one Redis round trip. Replies
that created data are also written to Postgres, so a replay after Redis lost
its memory still finds them. For bookings the worker writes that row in the
same transaction as the booking (see `actors/holds.py`). Stored bodies are
sealed with the PII key wherever they rest (`common/stored_replies.py`).
"""

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common import keys, stored_replies
from common.pii import PiiKeys
from db import idempotency
from db.idempotency import StoredReply
from domain.errors import ApiError, ErrorCode
from web.ratelimit import SPEND_LUA, Spend, budget_args, budget_keys, settle
from web.responses import Reply
from web.shared_redis import Script, SharedRedis

REPLAYED_HEADER = "Idempotent-Replayed"
PROBE_MS = 1000


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def valid_key(key: str | None) -> bool:
    return key is not None and 1 <= len(key) <= 255 and all(32 <= ord(c) < 127 for c in key)


# Replaces our own pending claim only: a worker may already have stored the final reply.
_REPLACE_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
"""


# KEYS: idempotency key, admission count ('' for none), its probe key, the key holding
# when this Redis began to remember (Unix ms, set by the first call), then the keys of the
# rate-limit budgets to spend.
# ARGV: claim, claim TTL, refusal record, record TTL, probe window ms, then each budget's
# interval and period µs. An admitted request takes one from the count; at zero the
# refusal is the reply, except that in the count's last `PROBE_MS` one request a window
# goes on to be checked, so a count still true is renewed before it lapses rather than
# letting a wave of requests through when it does. No count: everyone goes on. A refusal
# returns since when Redis remembers: a key answered before then may have been forgotten
# (a flush, a restart without persistence), and its reply is then looked for in Postgres.
_ADMIT = Script(
    SPEND_LUA
    + """
local since = redis.call('GET', KEYS[4])
if not since then
  local clock = redis.call('TIME')
  since = string.format('%d', tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000))
  redis.call('SET', KEYS[4], since)
end
local spent = spend_all(5, 6)
for _, budget in ipairs(spent) do
  if budget[1] == 0 then return {spent, 'limited'} end
end
local existing = redis.call('GET', KEYS[1])
if existing then return {spent, 'replay', existing} end
local left = KEYS[2] ~= '' and tonumber(redis.call('GET', KEYS[2]))
if left and left > 0 then
  redis.call('DECR', KEYS[2])
elseif left and (redis.call('PTTL', KEYS[2]) > tonumber(ARGV[5])
    or not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[5])) then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
  return {spent, 'refused', since}
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return {spent, 'claimed'}
"""
)


@dataclass(frozen=True)
class Refusal:
    """A reply a route knows before the claim, given while the Redis count at `count` is 0."""

    count: str
    reply: Reply


@dataclass
class Admission:
    """A claimed key (`reply` None: run the handler) or the reply to give instead."""

    headers: dict[str, str] = field(default_factory=dict)
    reply: Reply | None = None


class IdempotencyStore:
    def __init__(
        self,
        redis: Redis,
        shared: SharedRedis,
        engine: AsyncEngine,
        pii: PiiKeys,
        ttl_seconds: int,
        pending_seconds: int,
    ):
        self._redis = redis
        self._shared = shared
        self._engine = engine
        self._pii = pii
        self._ttl = ttl_seconds
        self._pending = pending_seconds
        self._forgetting: dict[int, tuple[bool, float]] = {}
        """since -> (whether replies older than it are kept, when that was checked)."""
        self._forgetting_lock = asyncio.Lock()

    async def begin(
        self,
        actor: str,
        key: str,
        digest: str,
        check_durable: bool,
        spends: list[Spend] | None = None,
        refusal: Refusal | None = None,
    ) -> Admission:
        """Spends the budgets, then claims the key, replays its reply, or stores the refusal."""
        rkey = keys.idempotency(actor, key)
        spends = spends or []
        refused = ""
        if refusal is not None:
            refused = stored_replies.record(
                self._pii, digest, refusal.reply.status, refusal.reply.body
            )
        spent, outcome, *existing = await self._shared.run(
            _ADMIT,
            [
                rkey,
                refusal.count if refusal else "",
                f"{refusal.count}:probe" if refusal else "",
                keys.IDEMPOTENCY_SINCE,
                *budget_keys(spends),
            ],
            [
                stored_replies.claim(digest),
                self._pending,
                refused,
                self._ttl,
                PROBE_MS,
                *budget_args(spends),
            ],
        )
        admission = Admission(settle(spends, spent))
        try:
            if outcome == "replay":
                admission.reply = _resolve(stored_replies.parse(self._pii, existing[0]), digest)
            elif outcome == "refused":
                admission.reply = refusal.reply if refusal else None
                if await self._may_have_forgotten(int(existing[0])):
                    replay = await self._durable_replay(actor, key, digest)
                    admission.reply = replay or refusal.reply
            elif check_durable:
                admission.reply = await self._durable_replay(actor, key, digest)
        except ApiError as error:
            error.headers = {**admission.headers, **error.headers}
            raise
        return admission

    async def _may_have_forgotten(self, since: int) -> bool:
        """Whether Postgres keeps replies from before Redis began to remember.

        Only then can a refused request be the replay of one Redis forgot. The answer
        "no" holds for good (later replies are remembered); "yes" is asked again each
        minute, until those replies expire.
        """
        async with self._forgetting_lock:  # a rush of refusals asks Postgres once
            return await self._check_forgetting(since)

    async def _check_forgetting(self, since: int) -> bool:
        checked = self._forgetting.get(since)
        if checked is not None and (not checked[0] or time.monotonic() - checked[1] < 60):
            return checked[0]
        async with self._engine.connect() as conn:
            older = await conn.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM idempotency_records"
                    " WHERE created_at < to_timestamp(:since / 1000.0)"
                    " AND expires_at > now())"
                ),
                {"since": since},
            )
        self._forgetting = {since: (bool(older), time.monotonic())}
        return bool(older)

    async def _durable_replay(self, actor: str, key: str, digest: str) -> Reply | None:
        """After Redis forgot the key: the reply Postgres kept, put back in Redis."""
        async with self._engine.connect() as conn:
            found = await idempotency.find(conn, self._pii, [(actor, key)])
        stored = found.get((actor, key))
        if stored is None:
            return None
        record = stored_replies.record(self._pii, stored.digest, stored.status, stored.body)
        await self._redis.set(keys.idempotency(actor, key), record, ex=self._ttl)
        done = {"state": "done", "hash": stored.digest, "status": stored.status}
        return _resolve({**done, "body": stored.body}, digest)

    async def complete(self, actor: str, key: str, digest: str, reply: Reply, durable: bool):
        if durable and reply.status < 300:
            async with self._engine.begin() as conn:
                stored = StoredReply(actor, key, digest, reply.status, reply.body)
                await idempotency.store(conn, self._pii, [stored], self._ttl)
        record = stored_replies.record(self._pii, digest, reply.status, reply.body)
        await self._redis.eval(
            _REPLACE_CLAIM,
            1,
            keys.idempotency(actor, key),
            stored_replies.claim(digest),
            record,
            self._ttl,
        )

    async def abandon(self, actor: str, key: str) -> None:
        """Releases a claim whose request failed, so the client may retry with the same key."""
        await self._redis.delete(keys.idempotency(actor, key))


def _resolve(record: dict[str, Any], digest: str) -> Reply:
    if record["hash"] != digest:
        raise ApiError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used with a different request",
        )
    if record["state"] == "pending":
        raise ApiError(
            ErrorCode.IDEMPOTENCY_IN_PROGRESS, "a request with this Idempotency-Key is in progress"
        )
    return Reply(record["status"], record["body"], {REPLAYED_HEADER: "true"})
