"""Webhooks for the embedding product (contract §9): register, list, change, remove,
and see and retry their deliveries. Delivering them is the workers' job
(`actors/webhooks.py`).

A webhook's URL must be `https://` (or `http://` with `WEBHOOK_ALLOW_HTTP`) and
resolve only to public addresses (unless `WEBHOOK_ALLOW_PRIVATE`): it is checked
here, and again before every delivery. Its signing secret (`whsec_…`) is shown
once, in the reply that registers it, and kept sealed with the PII key.
"""

import base64
import datetime as dt
import secrets
import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from common import outbound
from common.ids import new_id
from db import audit, outbox, webhooks
from domain.errors import ErrorCode
from domain.roles import Permission
from web.errors import ApiError
from web.middlewares import REQUEST_ID
from web.models import ListQuery, Strict
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Route
from web.state import BROKER, ENGINE, PII, SETTINGS
from workers.broker import send
from workers.tasks import DELIVER_WEBHOOK

SECRET_BYTES = 24
EVENT_TYPES = sorted(outbox.EVENT_TYPES)


def _events(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - outbox.EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types {unknown}; known: {EVENT_TYPES}")
    return sorted(set(value))


class WebhookIn(Strict):
    url: str = Field(max_length=2000, examples=["https://example.org/hooks/scheduler"])
    events: list[str] = Field(min_length=1, max_length=50, examples=[["booking.confirmed"]])
    include_customer: bool = False

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str] | None:
        return _events(value)


class WebhookPatch(Strict):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    include_customer: bool | None = None
    active: bool | None = None

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return _events(value)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    include_customer: bool
    active: bool
    created_at: str


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret, shown only in this reply")


class WebhookReply(BaseModel):
    webhook: WebhookOut


class WebhookCreatedReply(BaseModel):
    webhook: WebhookCreatedOut


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    id: str = Field(description="The event's id: the `webhook-id` of every attempt")
    event_id: str
    type: str
    status: str = Field(examples=["pending", "delivered", "failed"])
    attempts: int
    last_status: int | None = Field(description="The endpoint's HTTP status; null: no answer")
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryReply(BaseModel):
    delivery: DeliveryOut


def _instant(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "url": row.url,
        "events": list(row.events),
        "include_customer": row.include_customer,
        "active": row.active,
        "created_at": row.created_at.isoformat(),
    }


def delivery_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.event_id),
        "event_id": str(row.event_id),
        "type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "next_attempt_at": _instant(row.next_attempt_at) if row.status == "pending" else None,
        "created_at": row.created_at.isoformat(),
        "delivered_at": _instant(row.delivered_at),
    }


async def _check_url(call: Call, url: str) -> None:
    settings = call.request.app[SETTINGS]
    try:
        await outbound.check_url(url, settings.webhook_allow_http, settings.webhook_allow_private)
    except outbound.UnsafeTarget as exc:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "request body failed validation",
            {"fields": [{"field": "url", "message": str(exc), "type": "url"}]},
        ) from None


def _id(call: Call, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(call.request.match_info[name])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such webhook") from None


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_webhook(call: Call) -> Reply:
    body: WebhookIn = call.body
    await _check_url(call, body.url)
    secret = _new_secret()
    webhook_id = new_id()
    async with call.request.app[ENGINE].begin() as conn:
        row = await webhooks.create(
            conn,
            webhook_id,
            body.url,
            body.events,
            body.include_customer,
            call.request.app[PII].encrypt(secret),
            call.subject,
        )
        await audit.record(
            conn,
            call.subject,
            "webhook.created",
            "webhook",
            webhook_id,
            body.model_dump(),
            call.request[REQUEST_ID],
        )
    return Reply(201, {"webhook": {**webhook_json(row), "secret": secret}})


async def list_webhooks(call: Call) -> Reply:
    query: ListQuery = call.query
    after = decode_cursor(query.cursor, "webhooks", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await webhooks.page(conn, after, query.limit + 1)
    return Reply(200, page([webhook_json(r) for r in rows], query.limit, "webhooks", ["id"]))


async def get_webhook(call: Call) -> Reply:
    async with call.request.app[ENGINE].connect() as conn:
        row = await webhooks.one(conn, _id(call))
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such webhook")
    return Reply(200, {"webhook": webhook_json(row)})


async def change_webhook(call: Call) -> Reply:
    body: WebhookPatch = call.body
    changes = body.model_dump(exclude_none=True)
    if body.url is not None:
        await _check_url(call, body.url)
    webhook_id = _id(call)
    async with call.request.app[ENGINE].begin() as conn:
        row = await webhooks.update(conn, webhook_id, changes)
        if row is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no such webhook")
        await audit.record(
            conn,
            call.subject,
            "webhook.changed",
            "webhook",
            webhook_id,
            changes,
            call.request[REQUEST_ID],
        )
    return Reply(200, {"webhook": webhook_json(row)})


async def delete_webhook(call: Call) -> Reply:
    webhook_id = _id(call)
    async with call.request.app[ENGINE].begin() as conn:
        if not await webhooks.delete(conn, webhook_id):
            raise ApiError(ErrorCode.NOT_FOUND, "no such webhook")
        await audit.record(
            conn,
            call.subject,
            "webhook.deleted",
            "webhook",
            webhook_id,
            {},
            call.request[REQUEST_ID],
        )
    return Reply(200, {"webhook": {"id": str(webhook_id), "deleted": True}})


async def list_deliveries(call: Call) -> Reply:
    """Newest event first."""
    query: ListQuery = call.query
    before = decode_cursor(query.cursor, "deliveries", (uuid_part,))[0] if query.cursor else None
    webhook_id = _id(call)
    async with call.request.app[ENGINE].connect() as conn:
        if await webhooks.one(conn, webhook_id) is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no such webhook")
        rows = await webhooks.deliveries(conn, webhook_id, before, query.limit + 1)
    items = [delivery_json(r) for r in rows]
    return Reply(200, page(items, query.limit, "deliveries", ["event_id"]))


async def retry_delivery(call: Call) -> Reply:
    """Makes the delivery due now (whatever became of it) and wakes its webhook's runner."""
    webhook_id = _id(call)
    try:
        event_id = uuid.UUID(call.request.match_info["delivery_id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such delivery") from None
    async with call.request.app[ENGINE].begin() as conn:
        row = await webhooks.retry(conn, webhook_id, event_id)
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such delivery")
    send(
        call.request.app[BROKER],
        DELIVER_WEBHOOK,
        str(webhook_id),
        request_id=call.request[REQUEST_ID],
    )
    return Reply(202, {"delivery": delivery_json(row)})


# Webhooks carry every location's events, so only a caller of every location manages them.
_ADMIN = {
    "access": Permission.WEBHOOKS,
    "rate_limit": "admin",
    "tag": "webhooks",
    "every_location": True,
}
_WEBHOOK = "/admin/v1/webhooks/{id}"

ROUTES = [
    Route(
        "POST",
        "/admin/v1/webhooks",
        create_webhook,
        "Register a webhook (its signing secret is shown only in this reply)",
        body=WebhookIn,
        responses={201: WebhookCreatedReply},
        idempotent=True,
        **_ADMIN,
    ),
    Route(
        "GET",
        "/admin/v1/webhooks",
        list_webhooks,
        "List webhooks",
        query=ListQuery,
        responses={200: WebhookPage},
        **_ADMIN,
    ),
    Route("GET", _WEBHOOK, get_webhook, "A webhook", responses={200: WebhookReply}, **_ADMIN),
    Route(
        "PATCH",
        _WEBHOOK,
        change_webhook,
        "Change a webhook's URL, events, customer data or activity",
        body=WebhookPatch,
        responses={200: WebhookReply},
        idempotent=True,
        **_ADMIN,
    ),
    Route(
        "DELETE",
        _WEBHOOK,
        delete_webhook,
        "Remove a webhook and its delivery log",
        responses={200: None},
        **_ADMIN,
    ),
    Route(
        "GET",
        _WEBHOOK + "/deliveries",
        list_deliveries,
        "A webhook's deliveries, newest event first",
        query=ListQuery,
        responses={200: DeliveryPage},
        **_ADMIN,
    ),
    Route(
        "POST",
        _WEBHOOK + "/deliveries/{delivery_id}/retry",
        retry_delivery,
        "Deliver an event again now (same webhook-id)",
        responses={202: DeliveryReply},
        idempotent=True,
        **_ADMIN,
    ),
]
