"""Re-encrypting what is sealed with the PII key under its current key: customer
contact details and manage tokens on bookings and waitlist entries, and webhook secrets."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.pii import PiiKeys


async def reencrypt(engine: AsyncEngine, pii: PiiKeys, batch_size: int = 500) -> int:
    """Rewrites every booking, waitlist entry and webhook with a ciphertext under an older
    key; returns how many.

    Works in batches, each its own short transaction, so a large table is never
    locked for long and an interrupted run simply resumes where it stopped.
    """
    total = await _customers(engine, pii, batch_size, "bookings")
    total += await _customers(engine, pii, batch_size, "waitlist_entries")
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, secret FROM webhooks WHERE secret NOT LIKE :prefix FOR UPDATE"),
                {"prefix": f"{pii.current}:%"},
            )
        ).all()
        for row in rows:
            await conn.execute(
                text("UPDATE webhooks SET secret = :secret WHERE id = :id"),
                {"id": row.id, "secret": _again(pii, row.secret)},
            )
    return total + len(rows)


def _again(pii: PiiKeys, sealed: str | None) -> str | None:
    return pii.encrypt(pii.decrypt(sealed)) if sealed else None


async def _customers(engine: AsyncEngine, pii: PiiKeys, batch_size: int, table: str) -> int:
    """Reseals a table holding a customer's contact details and manage token (both tables
    name these columns alike)."""
    prefix = f"{pii.current}:%"
    total = 0
    while True:
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT id, customer_phone, customer_email, manage_token FROM {table}"
                        " WHERE customer_phone NOT LIKE :prefix"
                        " OR (customer_email IS NOT NULL AND customer_email NOT LIKE :prefix)"
                        " OR (manage_token IS NOT NULL AND manage_token NOT LIKE :prefix)"
                        " ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"prefix": prefix, "n": batch_size},
                )
            ).all()
            if not rows:
                return total
            await conn.execute(
                text(
                    f"UPDATE {table} b SET customer_phone = u.phone, customer_email = u.email,"
                    " manage_token = u.token"
                    " FROM unnest(CAST(:ids AS uuid[]), CAST(:phones AS text[]),"
                    " CAST(:emails AS text[]), CAST(:tokens AS text[]))"
                    " AS u(id, phone, email, token) WHERE b.id = u.id"
                ),
                {
                    "ids": [r.id for r in rows],
                    "phones": [_again(pii, r.customer_phone) for r in rows],
                    "emails": [_again(pii, r.customer_email) for r in rows],
                    "tokens": [_again(pii, r.manage_token) for r in rows],
                },
            )
            total += len(rows)
