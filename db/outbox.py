"""The transactional outbox: events are rows written with the change they describe.

A relay publishes them afterwards (`scheduler_jobs/outbox.py`), so an event is
never lost when a process dies between the commit and the publish.
"""

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id

EVENT_TYPES = frozenset(
    {
        "booking.created",
        "booking.confirmed",
        "booking.cancelled",
        "booking.expired",
        "booking.rescheduled",
    }
)


async def emit(
    conn: AsyncConnection,
    event_type: str,
    aggregate_id: object,
    payload: dict[str, Any],
    request_id: str | None = None,
) -> None:
    """Adds one event to the outbox inside the caller's transaction."""
    await emit_many(conn, [(event_type, aggregate_id, payload)], request_id)


async def emit_many(
    conn: AsyncConnection,
    events: list[tuple[str, object, dict[str, Any]]],
    request_id: str | None = None,
) -> None:
    """Adds several events with one statement (a batch of holds emits one per booking)."""
    if not events:
        return
    unknown = {e[0] for e in events} - EVENT_TYPES
    if unknown:
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    await conn.execute(
        text(
            "INSERT INTO outbox (id, event_type, aggregate_id, payload, request_id)"
            " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]),"
            " CAST(:aggs AS uuid[]), CAST(:payloads AS jsonb[]), CAST(:rids AS text[]))"
        ),
        {
            "ids": [new_id() for _ in events],
            "types": [e[0] for e in events],
            "aggs": [str(e[1]) for e in events],
            "payloads": [json.dumps(e[2], default=str) for e in events],
            "rids": [request_id] * len(events),
        },
    )
