"""Idempotent mutations, keyed by (Idempotency-Key, actor).

Redis answers the common case fast: the first request claims the key as
`pending`, its reply replaces the claim for `IDEMPOTENCY_TTL_SECONDS`. Replies
that created data are also written to Postgres, so a replay after Redis lost
its memory still finds them. For booking holds the worker writes that row in
the same transaction as the booking (see `actors/holds.py`).
"""

import datetime as dt
import hashlib
import json
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common import keys
from domain.errors import ApiError, ErrorCode
from web.responses import Reply, dumps

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


class IdempotencyStore:
    def __init__(self, redis: Redis, engine: AsyncEngine, ttl_seconds: int, pending_seconds: int):
        self._redis = redis
        self._engine = engine
        self._ttl = ttl_seconds
        self._pending = pending_seconds

    async def begin(self, actor: str, key: str, digest: str, check_durable: bool) -> Reply | None:
        """Claims the key for this request, or returns the earlier reply to replay."""
        claim = dumps({"state": "pending", "hash": digest})
        rkey = keys.idempotency(actor, key)
        if not await self._redis.set(rkey, claim, nx=True, ex=self._pending):
            raw = await self._redis.get(rkey)
            if raw is None:
                return await self.begin(actor, key, digest, check_durable)
            return _resolve(json.loads(raw), digest)
        if not check_durable:
            return None
        record = await self.durable(actor, key)
        if record is None:
            return None
        await self._redis.set(rkey, dumps(record), ex=self._ttl)
        return _resolve(record, digest)

    async def durable(self, actor: str, key: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT request_hash, status_code, body FROM idempotency_records"
                        " WHERE actor = :actor AND key = :key AND expires_at > now()"
                    ),
                    {"actor": actor, "key": key},
                )
            ).first()
        if row is None:
            return None
        return {"state": "done", "hash": row[0], "status": row[1], "body": row[2]}

    async def complete(self, actor: str, key: str, digest: str, reply: Reply, durable: bool):
        record = {"state": "done", "hash": digest, "status": reply.status, "body": reply.body}
        if durable and reply.status < 300:
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._ttl)
            async with self._engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO idempotency_records"
                        " (actor, key, request_hash, status_code, body, expires_at)"
                        " VALUES (:actor, :key, :hash, :status, CAST(:body AS jsonb), :expires)"
                        " ON CONFLICT (actor, key) DO NOTHING"
                    ),
                    {
                        "actor": actor,
                        "key": key,
                        "hash": digest,
                        "status": reply.status,
                        "body": dumps(reply.body),
                        "expires": expires,
                    },
                )
        claim = dumps({"state": "pending", "hash": digest})
        await self._redis.eval(
            _REPLACE_CLAIM, 1, keys.idempotency(actor, key), claim, dumps(record), self._ttl
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
