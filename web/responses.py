"""JSON replies, and refusals rendered as the contract's error envelope."""

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from common.stored_replies import LIKE_JSON
from domain.errors import Refused
from web.errors import error_body, headers_of, status_of


@dataclass
class Reply:
    """What a handler answers: kept as data so idempotency can store and replay it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    recorded: bool = False
    """True when a worker already stored this reply under the request's Idempotency-Key."""


@dataclass
class TextReply:
    """A non-JSON reply (metrics text, the docs page); never stored for idempotency."""

    status: int
    text: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON; what JSON has no type for (a datetime, a dataclass) as its `str`."""
    return orjson.dumps(body, default=str, option=LIKE_JSON)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply no cache may keep: replies carry customer data, tokens or both."""
    return web.Response(
        status=status,
        body=dumps(body),
        content_type="application/json",
        charset="utf-8",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_response(error: Refused, request_id: str) -> web.Response:
    headers = {k: str(v) for k, v in headers_of(error).items()}
    return json_response(status_of(error), error_body(error, request_id), headers)
