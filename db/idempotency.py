"""Idempotent replies in Postgres: written with the change they answer, sealed, purged.

Postgres keeps a reply so that a replay finds it after Redis forgot the key. The
workers write a booking outcome in the same transaction as the booking it
answers, so a batch or a change applied twice finds its outcome and changes
nothing. Bodies are sealed with the PII key (`common/stored_replies.py`) and
stored as a JSON string in the `jsonb` column; an engine outcome has no status.
"""

import datetime as dt
import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.pii import PiiKeys
from common.stored_replies import StoredReply, seal, unseal
from db import writes

PURGE_BATCH = 1_000
Key = tuple[str, str]
"""(subject, Idempotency-Key)."""


async def find(conn: AsyncConnection, pii: PiiKeys, pairs: list[Key]) -> dict[Key, StoredReply]:
    """The live replies stored for these keys, bodies in clear."""
    rows = (
        await conn.execute(
            text(
                "SELECT r.actor, r.key, r.request_hash, r.status_code, r.body"
                " FROM idempotency_records r"
                " JOIN unnest(CAST(:subjects AS text[]), CAST(:keys AS text[])) AS c(actor, key)"
                " ON r.actor = c.actor AND r.key = c.key WHERE r.expires_at > now()"
            ),
            {"subjects": [p[0] for p in pairs], "keys": [p[1] for p in pairs]},
        )
    ).all()
    return {
        (r.actor, r.key): StoredReply(r.request_hash, r.status_code, unseal(pii, r.body))
        for r in rows
    }


async def store(
    conn: AsyncConnection, pii: PiiKeys, replies: dict[Key, StoredReply], ttl_seconds: int
) -> None:
    """Stores replies with one statement; a key that has one already keeps it."""
    await writes.run(conn, [store_write(pii, replies, ttl_seconds)] if replies else [])


def store_write(pii: PiiKeys, replies: dict[Key, StoredReply], ttl_seconds: int) -> writes.Write:
    """`store` as a write to send with others."""
    return writes.Write(
        "INSERT INTO idempotency_records (actor, key, request_hash, status_code, body,"
        " expires_at) SELECT a, k, h, s, CAST(b AS jsonb), :idem_expires"
        " FROM unnest(CAST(:idem_subjects AS text[]), CAST(:idem_keys AS text[]),"
        " CAST(:idem_hashes AS text[]), CAST(:idem_statuses AS int[]),"
        " CAST(:idem_bodies AS text[])) AS r(a, k, h, s, b) ON CONFLICT (actor, key) DO NOTHING",
        {
            "idem_expires": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl_seconds),
            "idem_subjects": [subject for subject, _ in replies],
            "idem_keys": [key for _, key in replies],
            "idem_hashes": [r.digest for r in replies.values()],
            "idem_statuses": [r.status for r in replies.values()],
            "idem_bodies": [json.dumps(seal(pii, r.body)) for r in replies.values()],
        },
    )


async def lock_key(conn: AsyncConnection, subject: str, key: str) -> None:
    """Serializes transactions answering the same key until the first one ends.

    Taken before any row lock, and only by single changes, so it cannot close a
    cycle with the slot and booking locks.
    """
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:subject || ' ' || :key, 0))"),
        {"subject": subject, "key": key},
    )


async def kept_from_before(conn: AsyncConnection, since_ms: int) -> bool:
    """Whether live replies older than `since_ms` (Unix ms) are kept."""
    return bool(
        await conn.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM idempotency_records"
                " WHERE created_at < to_timestamp(:since / 1000.0) AND expires_at > now())"
            ),
            {"since": since_ms},
        )
    )


_PURGE = text(
    "DELETE FROM idempotency_records WHERE (actor, key) IN (SELECT actor, key"
    " FROM idempotency_records WHERE expires_at <= now() ORDER BY expires_at LIMIT :n"
    " FOR UPDATE SKIP LOCKED)"
)


async def purge_expired(engine: AsyncEngine, batch_size: int = PURGE_BATCH) -> int:
    """Deletes expired replies, a short transaction per batch; returns how many."""
    purged = 0
    while True:
        async with engine.begin() as conn:
            deleted = (await conn.execute(_PURGE, {"n": batch_size})).rowcount
        purged += deleted
        if deleted < batch_size:
            return purged
