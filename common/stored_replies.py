"""Idempotent replies at rest: one format, the body sealed with the PII key.

Every key's answer is kept for `IDEMPOTENCY_TTL_SECONDS` in Redis (`idem:*`) and,
when it created data, in Postgres (`idempotency_records`). It is either a reply
the web made (`status` and `body`), or an outcome of the booking engine (`status`
None, `body` the outcome), which the web renders on every replay as it rendered
it the first time. Either may carry customer data (and manage tokens), so the
body is sealed (contract §7); the state, the request hash and the status are read
on every replay and say nothing about the customer.

A sealed body names its key (`common/pii.py`), so after a rotation it stays
readable as long as its key is listed in `PII_KEY`: keep a retired key listed for
`IDEMPOTENCY_TTL_SECONDS` after the rotation.
"""

from dataclasses import dataclass
from typing import Any

import orjson

from common.pii import PiiKeys


@dataclass(frozen=True)
class StoredReply:
    digest: str
    """The hash of the request this answers; another request under the same key is refused."""
    status: int | None
    """The HTTP status of a reply the web made; None when `body` is an engine outcome."""
    body: dict[str, Any]


@dataclass(frozen=True)
class Pending:
    """A key whose request is still being processed."""

    digest: str


LIKE_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)
"""orjson as `json.dumps(default=str)` wrote: what JSON has no type for as its `str`."""


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=LIKE_JSON).decode()


def seal(pii: PiiKeys, body: dict[str, Any]) -> str:
    return pii.encrypt(_dumps(body))


def unseal(pii: PiiKeys, sealed: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(sealed, dict):  # stored before bodies were sealed; gone within the TTL
        return sealed
    return orjson.loads(pii.decrypt(sealed))


def claim(digest: str) -> str:
    """The Redis value of a key whose request is being processed."""
    return _dumps({"state": "pending", "hash": digest})


def record(pii: PiiKeys, reply: StoredReply) -> str:
    """The Redis value of a key whose reply is known."""
    return _dumps(
        {
            "state": "done",
            "hash": reply.digest,
            "status": reply.status,
            "body": seal(pii, reply.body),
        }
    )


def parse(pii: PiiKeys, raw: str) -> Pending | StoredReply:
    found = orjson.loads(raw)
    if found["state"] == "pending":
        return Pending(found["hash"])
    return StoredReply(found["hash"], found["status"], unseal(pii, found["body"]))
