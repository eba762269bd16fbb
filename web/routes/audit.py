"""The audit trail over HTTP (admins only): who changed what, newest first.

A caller limited to some locations sees the entries about those locations only.
"""

from typing import Any

from pydantic import BaseModel, Field

from db import audit
from domain.roles import Permission
from web.models import ListQuery
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Route
from web.state import ENGINE


class AuditQuery(ListQuery):
    target_type: str | None = Field(default=None, max_length=100, examples=["location"])
    target_id: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(default=None, max_length=320)


class AuditEntry(BaseModel):
    id: str
    actor: str
    action: str
    target_type: str
    target_id: str | None
    location_id: str | None
    details: dict[str, Any]
    request_id: str | None
    created_at: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


def entry_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "actor": row.actor,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "location_id": str(row.location_id) if row.location_id else None,
        "details": row.details,
        "request_id": row.request_id,
        "created_at": row.created_at.isoformat(),
    }


async def list_audit(call: Call) -> Reply:
    """Newest first; `target_type`, `target_id` and `actor` (a token's `sub`) match exactly."""
    query: AuditQuery = call.query
    before = decode_cursor(query.cursor, "audit", (uuid_part,))[0] if query.cursor else None
    where = audit.Filter(query.target_type, query.target_id, query.actor)
    async with call.request.app[ENGINE].connect() as conn:
        rows = await audit.newest_first(conn, where, before, query.limit + 1, call.scope)
    return Reply(200, page([entry_json(r) for r in rows], query.limit, "audit", ["id"]))


ROUTES = [
    Route(
        "GET",
        "/admin/v1/audit",
        list_audit,
        "The audit trail, newest first",
        access=Permission.AUDIT,
        query=AuditQuery,
        responses={200: AuditPage},
        rate_limit="admin",
        tag="audit",
    ),
]
