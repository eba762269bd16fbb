"""The commands the booking engine takes, as the web queues them for the workers.

Both travel as JSON through a lane (`workers/lanes.py`). `subject`, `key` and
`digest` name the request's Idempotency-Key, under which the outcome is stored;
`reply_to` is the outcome channel of the web process that waits for it.
"""

from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class HoldCommand:
    """A request for a hold; the customer's phone and email are already encrypted."""

    command_id: str
    booking_id: str
    slot_id: str
    subject: str
    key: str
    digest: str
    name: str
    phone: str
    email: str | None
    phone_hash: str
    notes: str | None
    request_id: str | None
    reply_to: str
    staff: bool = False
    """Staff hold for walk-ins: no limit on how many they hold at once."""
    manage_token: str | None = None
    """The booking's manage link token, sealed like the phone (contract §9)."""
    manage_hash: str | None = None
    """Its keyed hash, by which the link finds the booking."""
    locale: str | None = None
    """The customer's language, when the request said it, for notifications."""


@dataclass(frozen=True)
class Change:
    """A confirm, cancel or reschedule; `owner` is set when a visitor asks (their own only)."""

    command_id: str
    kind: str
    booking_id: str
    owner: str | None
    subject: str
    key: str
    digest: str
    reply_to: str
    slot_id: str | None = None
    reason: str | None = None
    notify: bool = True
    request_id: str | None = None
    location_ids: list[str] | None = None
    """The staff caller's location scope (`domain/scope.py`); None: every location."""


Command = HoldCommand | Change


def dumps(command: Command) -> str:
    return orjson.dumps(command).decode()


def loads(raw: str | bytes) -> Command:
    fields = orjson.loads(raw)
    return Change(**fields) if "kind" in fields else HoldCommand(**fields)
