"""Opaque keyset cursors: the sort key of the last item of a page."""

import base64
import json
from typing import Any

from domain.errors import ApiError, ErrorCode


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise ApiError(ErrorCode.BAD_REQUEST, "unknown cursor", {"fields": [{"field": "cursor"}]})
    return values


def page(items: list[dict[str, Any]], limit: int, key: list[str]) -> dict[str, Any]:
    """Cuts one extra fetched row off and turns the last kept item into the next cursor."""
    more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor([items[-1][k] for k in key]) if more else None
    return {"items": items, "next_cursor": next_cursor}
