"""Re-encrypting customer contact details under the current PII key."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.pii import PiiKeys


async def reencrypt(engine: AsyncEngine, pii: PiiKeys, batch_size: int = 500) -> int:
    """Rewrites every booking whose phone or email is under an older key; returns how many.

    Works in batches, each its own short transaction, so a large table is never
    locked for long and an interrupted run simply resumes where it stopped.
    """
    prefix = f"{pii.current}:%"
    total = 0
    while True:
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT id, customer_phone, customer_email FROM bookings"
                        " WHERE customer_phone NOT LIKE :prefix"
                        " OR (customer_email IS NOT NULL AND customer_email NOT LIKE :prefix)"
                        " ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"prefix": prefix, "n": batch_size},
                )
            ).all()
            if not rows:
                return total
            await conn.execute(
                text(
                    "UPDATE bookings b SET customer_phone = u.phone, customer_email = u.email"
                    " FROM unnest(CAST(:ids AS uuid[]), CAST(:phones AS text[]),"
                    " CAST(:emails AS text[])) AS u(id, phone, email) WHERE b.id = u.id"
                ),
                {
                    "ids": [r.id for r in rows],
                    "phones": [pii.encrypt(pii.decrypt(r.customer_phone)) for r in rows],
                    "emails": [
                        pii.encrypt(pii.decrypt(r.customer_email)) if r.customer_email else None
                        for r in rows
                    ],
                },
            )
            total += len(rows)
