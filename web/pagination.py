"""Opaque keyset cursors: which list they page and the sort key of a page's last item.

A cursor comes back from the client, so it is input like any other: before any of
it reaches SQL it must name the list it is used on and carry a key of that list's
types. Anything else, crafted or taken from another list, is a 400.
"""

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

from domain.errors import ErrorCode
from domain.nesting import nests_deeper_than
from web.errors import ApiError

KeyPart = Callable[[Any], Any]
"""Turns one decoded value of a sort key into what SQL gets; ValueError when it cannot."""


def uuid_part(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("not a UUID")
    return uuid.UUID(value)


def instant_part(value: Any) -> dt.datetime:
    """An RFC 3339 instant with its offset, as UTC (which also proves UTC can hold it)."""
    if not isinstance(value, str):
        raise ValueError("not an instant")
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError("an instant needs its offset")
    try:
        return instant.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("instant out of range") from None


def encode_cursor(list_name: str, key: list[Any]) -> str:
    raw = json.dumps([list_name, *key], separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, list_name: str, parts: tuple[KeyPart, ...]) -> list[Any]:
    """The sort key `encode_cursor` was given for this list; 400 for anything else."""
    try:
        return _decode(cursor, list_name, parts)
    except ValueError:
        raise ApiError(
            ErrorCode.BAD_REQUEST,
            "unknown cursor: pass back the next_cursor of this list",
            {"fields": [{"field": "cursor", "message": "unknown cursor"}]},
        ) from None


def _decode(cursor: str, list_name: str, parts: tuple[KeyPart, ...]) -> list[Any]:
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    if nests_deeper_than(text, 1):
        raise ValueError("a cursor is a flat list")
    values = json.loads(text)
    if not isinstance(values, list) or values[:1] != [list_name]:
        raise ValueError("a cursor of another list")
    key = values[1:]
    if len(key) != len(parts):
        raise ValueError("a key of another shape")
    return [parse(value) for parse, value in zip(parts, key, strict=True)]


def page(items: list[dict[str, Any]], limit: int, list_name: str, key: list[str]) -> dict[str, Any]:
    """Cuts one extra fetched row off and turns the last kept item into the next cursor."""
    more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(list_name, [items[-1][k] for k in key]) if more else None
    return {"items": items, "next_cursor": next_cursor}
