"""Redis key names shared by the web and the workers, in one place."""

import hashlib


def idempotency(actor: str, key: str) -> str:
    return "idem:" + hashlib.sha256((actor + "\x00" + key).encode()).hexdigest()


IDEMPOTENCY_SINCE = "idem:since"
"""When this Redis began to remember (Unix ms): keys answered before may be forgotten."""


def lane(name: str) -> str:
    """Hold commands waiting for one lane (a person, or a location-scoped slot)."""
    return f"lane:{name}"


def lane_lock(name: str) -> str:
    return f"lanelock:{name}"


ACTIVE_LANES = "lanes:active"
"""Every lane that has had commands lately; the scheduler's sweep walks it."""
READY_LANES = "lanes:ready"
"""Lanes with commands waiting for a drainer."""
DRAIN_WAKE = "lanes:wake"
"""Set while a `drain_lanes` message is queued and not yet started."""


def replies(process_id: str) -> str:
    """The pub/sub channel where workers answer one web process's commands."""
    return f"replies:{process_id}"


def pending(booking_id: str) -> str:
    """Marks a booking whose hold command is queued; holds the owner's subject."""
    return f"pending:{booking_id}"


def outcome(booking_id: str) -> str:
    """A refused hold's reply, so polling its id after a 202 reaches a final answer."""
    return f"outcome:{booking_id}"


def hold(booking_id: str) -> str:
    """A live hold, expiring with it (Postgres stays the truth)."""
    return f"hold:{booking_id}"


def admission(slot_id: str) -> str:
    """What is left of a slot, as the web may assume without asking Postgres.

    Only ever set from Postgres (a batch's outcome, or a read when the web first
    meets the slot), for a few seconds; each admitted request takes one from it.
    """
    return f"admit:{slot_id}"


def exposure(remembered_by: tuple[str, ...]) -> str:
    """A visitor's shown sample of one date (see `domain.exposure.remembered_by`)."""
    return "expose:" + ":".join(remembered_by)
