"""Every Redis key and channel the platform uses, in one place.

Who writes and reads each is said beside it; the protocols themselves are in
`workers/lanes.py` (lanes, pending marks, admission counts), `workers/outcomes.py`
(outcome channels) and `common/stored_replies.py` (idempotent replies).
"""

import hashlib


def idempotency(subject: str, key: str) -> str:
    """A request's reply under its Idempotency-Key (web and workers write, web reads)."""
    return "idem:" + hashlib.sha256((subject + "\x00" + key).encode()).hexdigest()


IDEMPOTENCY_SINCE = "idem:since"
"""When this Redis began to remember (Unix ms): keys answered before may be forgotten."""


def budget(name: str, caller: str) -> str:
    """A caller's rate-limit budget (GCRA arrival time), per budget name."""
    return f"ratelimit:{name}:{caller}"


def lane(name: str) -> str:
    """Commands waiting in one lane (a person, or a location-scoped slot)."""
    return f"lane:{name}"


def lane_lock(name: str) -> str:
    """Held by the drainer applying a lane."""
    return f"lanelock:{name}"


ACTIVE_LANES = "lanes:active"
"""Every lane that has had commands lately; the scheduler's sweep walks it."""
READY_LANES = "lanes:ready"
"""Lanes with commands waiting for a drainer."""
DRAIN_WAKE = "lanes:wake"
"""Claimed by the live drainer (renewed while it runs), or set by the web with the
`drain_lanes` message it sent: while set, no other message is sent."""
DRAIN_HELP = "lanes:help"
"""Set for a moment after a helper drainer was sent, so helpers join one at a time."""
LANES_SIGNAL = "lanes:signal"
"""At most one element, pushed with every command: wakes the drainer parked on it."""


def outcome_channel(process_id: str) -> str:
    """The pub/sub channel where workers answer one web process's commands."""
    return f"replies:{process_id}"


def pending(booking_id: str) -> str:
    """A queued hold: its owner and lane, until the workers decided it."""
    return f"pending:{booking_id}"


def outcome(booking_id: str) -> str:
    """A refused hold's outcome, so polling its id after a 202 reaches a final answer."""
    return f"outcome:{booking_id}"


def admission(slot_id: str) -> str:
    """What is left of a slot, as the web may assume without asking Postgres.

    Only ever set from Postgres (a batch's outcome, or a read when the web first
    meets the slot), for a few seconds; each admitted request takes one from it.
    """
    return f"admit:{slot_id}"


def admission_probe(slot_id: str) -> str:
    """Taken by the one request a window that checks a count about to lapse."""
    return f"admit:{slot_id}:probe"


def lease(job: str) -> str:
    """Held by the scheduler process running `job`, so no two run it at once."""
    return f"lease:{job}"


EVENTS = "events"
"""The stream the outbox relay publishes every event to."""


def exposure(remembered_by: tuple[str, ...]) -> str:
    """A visitor's shown sample of one date (see `domain.exposure.remembered_by`)."""
    return "expose:" + ":".join(remembered_by)


def offered(subject: str) -> str:
    """Every slot shown to a visitor lately: a sorted set of slot ids, each scored with
    when its offer ends (Unix ms). `GET /v1/slots` adds to it; a visitor may hold only
    a slot in it whose offer has not ended (the web's admission script checks)."""
    return "offered:" + subject


def webhook_wake(webhook_id: str) -> str:
    """Set while a `deliver_webhook` message for the webhook is queued and not yet started."""
    return f"webhook:{webhook_id}:wake"


def webhook_lock(webhook_id: str) -> str:
    """Held by the one runner delivering the webhook's events, so an endpoint has one at most."""
    return f"webhook:{webhook_id}:lock"
