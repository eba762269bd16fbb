"""Idempotent replies at rest: the body sealed with the PII key, wherever it is stored.

A booking reply carries the customer's phone and email (and manage tokens later)
for `IDEMPOTENCY_TTL_SECONDS`, in Redis (`idem:*`) and in Postgres
(`idempotency_records.body`); contract §7 wants it encrypted in both. The web, the
hold batches and the change path all store replies, so the format lives here.
Only the body is sealed: the state, the request hash and the status say nothing
about the customer and are read on every replay.

A sealed body names its key (`common/pii.py`), so after a rotation it stays
readable as long as its key is listed in `PII_KEY`: keep a retired key listed for
`IDEMPOTENCY_TTL_SECONDS` after the rotation.
"""

import json
from typing import Any

from common.pii import PiiKeys


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def seal(pii: PiiKeys, body: dict[str, Any]) -> str:
    return pii.encrypt(_dumps(body))


def unseal(pii: PiiKeys, stored: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(stored, dict):  # stored before bodies were sealed; gone within the TTL
        return stored
    return json.loads(pii.decrypt(stored))


def claim(digest: str) -> str:
    """The Redis value of a key whose request is being processed."""
    return _dumps({"state": "pending", "hash": digest})


def record(pii: PiiKeys, digest: str, status: int, body: dict[str, Any]) -> str:
    """The Redis value of a key whose reply is known."""
    return _dumps({"state": "done", "hash": digest, "status": status, "body": seal(pii, body)})


def parse(pii: PiiKeys, raw: str) -> dict[str, Any]:
    """A Redis value as `{"state", "hash"[, "status", "body"]}`, the body in clear."""
    found = json.loads(raw)
    if "body" in found:
        found["body"] = unseal(pii, found["body"])
    return found
