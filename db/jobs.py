"""Background jobs an admin asked for or caused (slot generation, the reconcile after a
rule changed), and how each is going.

The web creates a job and answers 202 with its id; the worker that runs it sets its
status; the web reads it back when polled.
"""

import json
import uuid
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def create(
    conn: AsyncConnection,
    job_id: uuid.UUID,
    kind: str,
    params: dict[str, Any],
    created_by: str,
    request_id: str | None,
) -> None:
    """Records a queued job inside the caller's transaction."""
    await conn.execute(
        text(
            "INSERT INTO jobs (id, kind, params, created_by, request_id)"
            " VALUES (:id, :kind, CAST(:params AS jsonb), :by, :rid)"
        ),
        {
            "id": job_id,
            "kind": kind,
            "params": json.dumps(params),
            "by": created_by,
            "rid": request_id,
        },
    )


async def set_status(
    conn: AsyncConnection,
    job_id: uuid.UUID,
    status: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Records the job's state; a finished job stays finished (a late retry changes nothing)."""
    await conn.execute(
        text(
            "UPDATE jobs SET status = :status, result = CAST(:result AS jsonb), error = :error,"
            " started_at = coalesce(started_at, now()),"
            " finished_at = CASE WHEN :status IN ('succeeded', 'failed') THEN now() END"
            " WHERE id = :id AND status NOT IN ('succeeded', 'failed')"
        ),
        {
            "id": job_id,
            "status": status,
            "result": json.dumps(result) if result is not None else None,
            "error": error,
        },
    )


async def get(conn: AsyncConnection, job_id: uuid.UUID) -> Row[Any] | None:
    """The job's id, status, params, result and error, or None when there is no such job."""
    query = text("SELECT id, status, params, result, error FROM jobs WHERE id = :id")
    return (await conn.execute(query, {"id": job_id})).first()
