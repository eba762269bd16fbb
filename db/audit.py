"""The audit trail: who changed what, written in the same transaction as the change."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db.scoping import in_scope
from domain.scope import Scope


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
    location_id: object = None,
) -> None:
    """`location_id` is the location the change concerns, if any: scoped admins see only
    the entries of their locations."""
    await conn.execute(
        text(
            "INSERT INTO audit_log"
            " (id, actor, action, target_type, target_id, details, request_id, location_id)"
            " VALUES (:id, :actor, :action, :tt, :tid, CAST(:details AS jsonb), :rid, :loc)"
        ),
        {
            "id": new_id(),
            "actor": actor,
            "action": action,
            "tt": target_type,
            "tid": str(target_id) if target_id is not None else None,
            "details": json.dumps(details or {}, default=str),
            "rid": request_id,
            "loc": location_id,
        },
    )


@dataclass(frozen=True)
class Filter:
    target_type: str | None = None
    target_id: str | None = None
    actor: str | None = None


async def newest_first(
    conn: AsyncConnection, where: Filter, before: uuid.UUID | None, limit: int, scope: Scope
) -> list[Row[Any]]:
    """A page of entries of the scope, newest first (ids are UUIDv7, ordered by time),
    before the id of the last one seen."""
    rows = await conn.execute(
        text(
            "SELECT id, actor, action, target_type, target_id, details, request_id,"
            " location_id, created_at FROM audit_log"
            " WHERE (CAST(:before AS uuid) IS NULL OR id < CAST(:before AS uuid))"
            " AND (CAST(:tt AS text) IS NULL OR target_type = CAST(:tt AS text))"
            " AND (CAST(:tid AS text) IS NULL OR target_id = CAST(:tid AS text))"
            " AND (CAST(:actor AS text) IS NULL OR actor = CAST(:actor AS text))"
            f" AND {in_scope('location_id')} ORDER BY id DESC LIMIT :n"
        ),
        {
            "before": before,
            "tt": where.target_type,
            "tid": where.target_id,
            "actor": where.actor,
            "scope": scope.ids(),
            "n": limit,
        },
    )
    return list(rows.all())
