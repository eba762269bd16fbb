"""Webhooks and their deliveries (contract §9).

A delivery is one event for one webhook, keyed by both, so fanning an event out
again (the relay died after its XADD) adds nothing. Deliveries are claimed per
webhook: claiming pushes `next_attempt_at` past the attempt's time limit (a lease),
so a runner that dies leaves them to be claimed again, and two runners never send
the same delivery at once.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

COLUMNS = "id, url, events, include_customer, active, created_at"
DELIVERY_COLUMNS = (
    "event_id, event_type, status, attempts, last_status, last_error, next_attempt_at,"
    " created_at, delivered_at"
)


async def create(
    conn: AsyncConnection,
    webhook_id: uuid.UUID,
    url: str,
    events: list[str],
    include_customer: bool,
    sealed_secret: str,
    created_by: str,
) -> Row[Any]:
    return (
        await conn.execute(
            text(
                "INSERT INTO webhooks (id, url, events, include_customer, secret, created_by)"
                " VALUES (:id, :url, :events, :customer, :secret, :by)"
                f" RETURNING {COLUMNS}"
            ),
            {
                "id": webhook_id,
                "url": url,
                "events": events,
                "customer": include_customer,
                "secret": sealed_secret,
                "by": created_by,
            },
        )
    ).one()


async def one(conn: AsyncConnection, webhook_id: uuid.UUID) -> Row[Any] | None:
    return (
        await conn.execute(
            text(f"SELECT {COLUMNS}, secret FROM webhooks WHERE id = :id"), {"id": webhook_id}
        )
    ).first()


async def page(conn: AsyncConnection, after: uuid.UUID | None, limit: int) -> list[Row[Any]]:
    rows = await conn.execute(
        text(
            f"SELECT {COLUMNS} FROM webhooks"
            " WHERE CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid)"
            " ORDER BY id LIMIT :n"
        ),
        {"after": after, "n": limit},
    )
    return list(rows.all())


async def update(
    conn: AsyncConnection, webhook_id: uuid.UUID, changes: dict[str, Any]
) -> Row[Any] | None:
    """Sets the given fields (url, events, include_customer, active); None: no such webhook."""
    allowed = {"url", "events", "include_customer", "active"}
    assert set(changes) <= allowed, changes
    assignments = "".join(f", {name} = :{name}" for name in sorted(changes))
    return (
        await conn.execute(
            text(
                f"UPDATE webhooks SET updated_at = now(){assignments} WHERE id = :id"
                f" RETURNING {COLUMNS}"
            ),
            {"id": webhook_id, **changes},
        )
    ).first()


async def delete(conn: AsyncConnection, webhook_id: uuid.UUID) -> bool:
    """Removes the webhook and its deliveries; False when there was none."""
    deleted = await conn.execute(text("DELETE FROM webhooks WHERE id = :id"), {"id": webhook_id})
    return deleted.rowcount > 0


async def fan_out(conn: AsyncConnection, events: list[Row[Any]]) -> list[str]:
    """Adds a delivery of each event to every active webhook that subscribes to its type and
    was registered before it was created; returns the webhooks that got one."""
    if not events:
        return []
    rows = await conn.execute(
        text(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, next_attempt_at)"
            " SELECT w.id, e.id, e.type, now()"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]),"
            " CAST(:created AS timestamptz[])) AS e(id, type, created_at)"
            " JOIN webhooks w ON w.active AND e.type = ANY(w.events)"
            " AND e.created_at >= w.created_at"
            " ON CONFLICT DO NOTHING RETURNING webhook_id"
        ),
        {
            "ids": [e.id for e in events],
            "types": [e.event_type for e in events],
            "created": [e.created_at for e in events],
        },
    )
    return sorted({str(r.webhook_id) for r in rows})


async def claim_due(
    conn: AsyncConnection, webhook_id: str, limit: int, lease_seconds: float
) -> list[Row[Any]]:
    """Up to `limit` due deliveries of one webhook with their events, leased for
    `lease_seconds` (oldest due first); deliveries another runner holds are skipped."""
    rows = await conn.execute(
        text(
            "WITH due AS (SELECT event_id FROM webhook_deliveries"
            " WHERE webhook_id = :w AND status = 'pending' AND next_attempt_at <= now()"
            " ORDER BY next_attempt_at LIMIT :n FOR UPDATE SKIP LOCKED)"
            " UPDATE webhook_deliveries d"
            " SET next_attempt_at = now() + make_interval(secs => :lease)"
            " FROM due JOIN outbox o ON o.id = due.event_id"
            " WHERE d.webhook_id = :w AND d.event_id = due.event_id"
            " RETURNING d.event_id, d.event_type, d.attempts, o.aggregate_id, o.payload,"
            " o.created_at, o.request_id"
        ),
        {"w": webhook_id, "n": limit, "lease": lease_seconds},
    )
    return list(rows.all())


@dataclass(frozen=True)
class Attempt:
    """How one delivery attempt went; `retry_at` None after a success or the last try."""

    event_id: uuid.UUID
    delivered: bool
    status: int | None
    """The HTTP status the endpoint answered; None when it did not answer."""
    error: str | None
    retry_at: dt.datetime | None


async def record(conn: AsyncConnection, webhook_id: str, attempts: list[Attempt]) -> None:
    """Writes a batch of attempts with one statement."""
    await conn.execute(
        text(
            "UPDATE webhook_deliveries d SET attempts = d.attempts + 1,"
            " last_status = a.status, last_error = a.error, next_attempt_at = a.retry_at,"
            " status = CASE WHEN a.delivered THEN 'delivered'"
            " WHEN a.retry_at IS NULL THEN 'failed' ELSE 'pending' END,"
            " delivered_at = CASE WHEN a.delivered THEN now() ELSE d.delivered_at END"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:delivered AS boolean[]),"
            " CAST(:statuses AS int[]), CAST(:errors AS text[]),"
            " CAST(:retry AS timestamptz[])) AS a(event_id, delivered, status, error, retry_at)"
            " WHERE d.webhook_id = :w AND d.event_id = a.event_id"
        ),
        {
            "w": webhook_id,
            "ids": [a.event_id for a in attempts],
            "delivered": [a.delivered for a in attempts],
            "statuses": [a.status for a in attempts],
            "errors": [a.error for a in attempts],
            "retry": [a.retry_at for a in attempts],
        },
    )


async def deliveries(
    conn: AsyncConnection, webhook_id: uuid.UUID, before: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """A webhook's deliveries, newest event first, before the event id `before`."""
    rows = await conn.execute(
        text(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = :w"
            " AND (CAST(:before AS uuid) IS NULL OR event_id < CAST(:before AS uuid))"
            " ORDER BY event_id DESC LIMIT :n"
        ),
        {"w": webhook_id, "before": before, "n": limit},
    )
    return list(rows.all())


async def retry(
    conn: AsyncConnection, webhook_id: uuid.UUID, event_id: uuid.UUID
) -> Row[Any] | None:
    """Makes a delivery due now, whatever became of it; None when there is no such delivery."""
    return (
        await conn.execute(
            text(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now()"
                " WHERE webhook_id = :w AND event_id = :e"
                f" RETURNING {DELIVERY_COLUMNS}"
            ),
            {"w": webhook_id, "e": event_id},
        )
    ).first()


async def due(conn: AsyncConnection) -> list[str]:
    """The webhooks that have deliveries due (a retry's time came, a runner died)."""
    rows = await conn.execute(
        text(
            "SELECT id FROM webhooks w WHERE active AND EXISTS (SELECT 1 FROM webhook_deliveries d"
            " WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= now())"
        )
    )
    return [str(r.id) for r in rows]
