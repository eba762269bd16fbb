"""Capacity of slots under one person's time, and the booking state machine.

The same rule `db/availability.py` applies for reads: a slot's remaining capacity
is its capacity minus the use of every slot of the same person that overlaps it
in time (itself included); a location-scoped slot only counts itself.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

HELD, CONFIRMED, CANCELLED, EXPIRED = "held", "confirmed", "cancelled", "expired"
# The transitions the API may ask for; expiry is the scheduler's, from `held` only.
TRANSITIONS: dict[str, frozenset[str]] = {
    HELD: frozenset({CONFIRMED, CANCELLED, EXPIRED}),
    CONFIRMED: frozenset({CANCELLED}),
    CANCELLED: frozenset(),
    EXPIRED: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


@dataclass
class SlotUse:
    """A slot as locked in a transaction, with its counters as they stand in it."""

    id: uuid.UUID
    person_id: uuid.UUID | None
    start_at: dt.datetime
    end_at: dt.datetime
    capacity: int
    booked: int
    hold: int
    status: str

    @property
    def used(self) -> int:
        return self.booked + self.hold

    def overlaps(self, other: "SlotUse") -> bool:
        if self.id == other.id:
            return True
        if self.person_id is None or self.person_id != other.person_id:
            return False
        return self.start_at < other.end_at and other.start_at < self.end_at

    def counted_status(self) -> str:
        """The status the counters imply; an admin's `blocked` is kept."""
        if self.status == "blocked":
            return "blocked"
        if self.used >= self.capacity:
            return "full"
        return "partial" if self.used else "open"


def remaining(slot: SlotUse, neighbours: list[SlotUse]) -> int:
    """Capacity left on `slot`, given every locked slot that might overlap it."""
    return slot.capacity - sum(other.used for other in neighbours if slot.overlaps(other))
