"""Idempotent mutations, keyed by (Idempotency-Key, subject).

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
from sqlalchemy.ext.asyncio import AsyncEngine

from common import keys, stored_replies
from common.pii import PiiKeys
from common.stored_replies import Pending, StoredReply
from db import idempotency
from domain.errors import ErrorCode
from domain.outcomes import Outcome
from web.errors import ApiError, with_headers
from web.ratelimit import SPEND_LUA, Spend, budget_args, budget_keys, settle
from web.responses import Reply
from web.shared_redis import Script, SharedRedis
from web.views import outcome_reply
from workers.lanes import ADMISSION_LUA, PROBE_MS

REPLAYED_HEADER = "Idempotent-Replayed"


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
# when this Redis began to remember (Unix ms, set by the first call), the caller's offered
# slots ('' when it may hold any), then the keys of the rate-limit budgets to spend.
# ARGV: claim, claim TTL, foreseen reply record, record TTL, probe window ms, the slot,
# now (Unix ms), then each budget's interval and period µs.
# A slot the caller was not offered (its score in the caller's offered set is when the
# offer ends) is answered 'not_offered', with the key claimed: the caller stores the
# refusal (sealing it only then, not on every request). One the admission count does not
# admit gets the foreseen reply (workers/lanes.py), stored here. Both answers return since
# when Redis remembers: a key answered before then may have been forgotten (a flush, a
# restart without persistence), and its reply is then looked for in Postgres.
_ADMIT = Script(
    SPEND_LUA
    + ADMISSION_LUA
    + """
local since = redis.call('GET', KEYS[4])
if not since then
  local clock = redis.call('TIME')
  since = string.format('%d', tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000))
  redis.call('SET', KEYS[4], since)
end
local spent = spend_all(6, 8)
for _, budget in ipairs(spent) do
  if budget[1] == 0 then return {spent, 'limited'} end
end
local existing = redis.call('GET', KEYS[1])
if existing then return {spent, 'replay', existing} end
if KEYS[5] ~= '' then
  local offered_until = redis.call('ZSCORE', KEYS[5], ARGV[6])
  if not offered_until or tonumber(offered_until) < tonumber(ARGV[7]) then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    return {spent, 'not_offered', since}
  end
end
if not admit(KEYS[2], KEYS[3], tonumber(ARGV[5])) then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
  return {spent, 'foreseen', since}
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return {spent, 'claimed'}
"""
)


@dataclass(frozen=True)
class Foreseen:
    """A reply a route knows before the claim: given while the admission count of
    `slot_id` admits no one (a full slot), without running the handler; and, when
    `offered_to` is set, `not_offered` unless that identity was offered the slot."""

    slot_id: str
    reply: Reply
    offered_to: str | None = None
    not_offered: Reply | None = None


@dataclass
class Claim:
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
        subject: str,
        key: str,
        digest: str,
        check_durable: bool,
        spends: list[Spend] | None = None,
        foreseen: Foreseen | None = None,
    ) -> Claim:
        """Spends the budgets, then claims the key, replays its reply, or gives the
        foreseen reply (and stores it)."""
        spends = spends or []
        foreseen_record = offered_key = ""
        if foreseen is not None:
            foreseen_record = self._record(digest, foreseen.reply)
            if foreseen.offered_to is not None and foreseen.not_offered is not None:
                offered_key = keys.offered(foreseen.offered_to)
        spent, answer, *existing = await self._shared.run(
            _ADMIT,
            [
                keys.idempotency(subject, key),
                keys.admission(foreseen.slot_id) if foreseen else "",
                keys.admission_probe(foreseen.slot_id) if foreseen else "",
                keys.IDEMPOTENCY_SINCE,
                offered_key,
                *budget_keys(spends),
            ],
            [
                stored_replies.claim(digest),
                self._pending,
                foreseen_record,
                self._ttl,
                PROBE_MS,
                foreseen.slot_id if foreseen else "",
                int(time.time() * 1000),
                *budget_args(spends),
            ],
        )
        claim = Claim(settle(spends, spent))
        try:
            if answer == "replay":
                claim.reply = self._resolve(stored_replies.parse(self._pii, existing[0]), digest)
            elif answer == "foreseen":
                assert foreseen is not None
                claim.reply = foreseen.reply
                if await self._may_have_forgotten(int(existing[0])):
                    replay = await self._durable_replay(subject, key, digest)
                    claim.reply = replay or foreseen.reply
            elif answer == "not_offered":
                assert foreseen is not None and foreseen.not_offered is not None
                claim.reply = await self._not_offered(
                    subject, key, digest, foreseen.not_offered, int(existing[0])
                )
            elif check_durable:
                claim.reply = await self._durable_replay(subject, key, digest)
        except ApiError as error:
            raise with_headers(error, claim.headers) from None
        return claim

    def _record(self, digest: str, reply: Reply) -> str:
        return stored_replies.record(self._pii, StoredReply(digest, reply.status, reply.body))

    async def _not_offered(
        self, subject: str, key: str, digest: str, refusal: Reply, since: int
    ) -> Reply:
        """The refusal of a slot the caller was not offered, stored over the script's claim;
        or, when Redis may have forgotten the key (and its offers), the reply Postgres kept."""
        if await self._may_have_forgotten(since):
            replay = await self._durable_replay(subject, key, digest)
            if replay is not None:
                return replay
        await self.complete(subject, key, digest, refusal, durable=False)
        return refusal

    async def _may_have_forgotten(self, since: int) -> bool:
        """Whether Postgres keeps replies from before Redis began to remember.

        Only then can a foreseen answer be the replay of one Redis forgot. The answer
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
            older = await idempotency.kept_from_before(conn, since)
        self._forgetting = {since: (older, time.monotonic())}
        return older

    async def _durable_replay(self, subject: str, key: str, digest: str) -> Reply | None:
        """After Redis forgot the key: the reply Postgres kept, put back in Redis."""
        async with self._engine.connect() as conn:
            found = await idempotency.find(conn, self._pii, [(subject, key)])
        stored = found.get((subject, key))
        if stored is None:
            return None
        record = stored_replies.record(self._pii, stored)
        await self._redis.set(keys.idempotency(subject, key), record, ex=self._ttl)
        return self._resolve(stored, digest)

    async def complete(self, subject: str, key: str, digest: str, reply: Reply, durable: bool):
        stored = StoredReply(digest, reply.status, reply.body)
        if durable and reply.status < 300:
            async with self._engine.begin() as conn:
                await idempotency.store(conn, self._pii, {(subject, key): stored}, self._ttl)
        await self._redis.eval(
            _REPLACE_CLAIM,
            1,
            keys.idempotency(subject, key),
            stored_replies.claim(digest),
            stored_replies.record(self._pii, stored),
            self._ttl,
        )

    async def abandon(self, subject: str, key: str) -> None:
        """Releases a claim whose request failed, so the client may retry with the same key."""
        await self._redis.delete(keys.idempotency(subject, key))

    def _resolve(self, stored: Pending | StoredReply, digest: str) -> Reply:
        if stored.digest != digest:
            raise ApiError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used with a different request",
            )
        if isinstance(stored, Pending):
            raise ApiError(
                ErrorCode.IDEMPOTENCY_IN_PROGRESS,
                "a request with this Idempotency-Key is in progress",
            )
        if stored.status is None:
            reply = outcome_reply(Outcome.from_json(stored.body), self._pii)
        else:
            reply = Reply(stored.status, stored.body)
        reply.headers[REPLAYED_HEADER] = "true"
        return reply
