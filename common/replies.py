"""The message a worker publishes to answer a waiting web request (see web/replies.py)."""

import json
from typing import Any

Outcome = tuple[int, dict[str, Any]]


def encode(command_id: str, status: int, body: dict[str, Any]) -> str:
    return json.dumps({"id": command_id, "status": status, "body": body}, default=str)


def decode(data: str) -> tuple[str, Outcome]:
    reply = json.loads(data)
    return reply["id"], (reply["status"], reply["body"])
