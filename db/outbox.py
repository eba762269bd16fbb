"""The transactional outbox: events are rows written with the change they describe.

A relay publishes them afterwards (`actors/events.py`): it claims the unpublished
rows and marks them published in one transaction, so an event is never lost when a
process dies between the commit and the publish. Every event
carries the request id of the request that caused it (contract §7).
"""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db import writes

EVENT_TYPES = frozenset(
    {
        "booking.created",
        "booking.confirmed",
        "booking.cancelled",
        "booking.expired",
        "booking.rescheduled",
        "booking.reminder",
        "waitlist.offered",
    }
)


@dataclass(frozen=True)
class Event:
    """One event to add, with the request id of the request that caused it."""

    type: str
    aggregate_id: object
    payload: dict[str, Any]
    request_id: str | None


async def emit(
    conn: AsyncConnection,
    event_type: str,
    aggregate_id: object,
    payload: dict[str, Any],
    request_id: str | None,
) -> None:
    """Adds one event to the outbox inside the caller's transaction."""
    await emit_many(conn, [Event(event_type, aggregate_id, payload, request_id)])


async def emit_many(conn: AsyncConnection, events: list[Event]) -> None:
    """Adds several events with one statement (a batch of holds emits one per booking)."""
    await writes.run(conn, [events_write(events)] if events else [])


def events_write(events: list[Event]) -> writes.Write:
    """`emit_many` as a write to send with others."""
    unknown = {e.type for e in events} - EVENT_TYPES
    if unknown:
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    return writes.Write(
        "INSERT INTO outbox (id, event_type, aggregate_id, payload, request_id)"
        " SELECT * FROM unnest(CAST(:event_ids AS uuid[]), CAST(:event_types AS text[]),"
        " CAST(:event_aggs AS uuid[]), CAST(:event_payloads AS jsonb[]),"
        " CAST(:event_rids AS text[]))",
        {
            "event_ids": [new_id() for _ in events],
            "event_types": [e.type for e in events],
            "event_aggs": [str(e.aggregate_id) for e in events],
            "event_payloads": [json.dumps(e.payload, default=str) for e in events],
            "event_rids": [e.request_id for e in events],
        },
    )


async def claim(conn: AsyncConnection, limit: int) -> list[Row[Any]]:
    """Up to `limit` unpublished events in id order, locked until the caller's transaction
    ends; rows another relay holds are skipped, so relays never wait for each other."""
    rows = await conn.execute(
        text(
            "SELECT id, event_type, aggregate_id, payload, request_id, created_at FROM outbox"
            " WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
        ),
        {"n": limit},
    )
    return list(rows.all())


async def mark_published(conn: AsyncConnection, ids: list[Any]) -> None:
    await conn.execute(
        text(
            "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(:ids)"
        ),
        {"ids": ids},
    )
