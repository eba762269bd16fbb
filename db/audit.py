"""The audit trail: who changed what, written in the same transaction as the change."""

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO audit_log (id, actor, action, target_type, target_id, details, request_id)"
            " VALUES (:id, :actor, :action, :tt, :tid, CAST(:details AS jsonb), :rid)"
        ),
        {
            "id": new_id(),
            "actor": actor,
            "action": action,
            "tt": target_type,
            "tid": str(target_id) if target_id is not None else None,
            "details": json.dumps(details or {}, default=str),
            "rid": request_id,
        },
    )
