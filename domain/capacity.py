"""What a slot has left, and whether it may take one more hold.

Every reader and writer of capacity goes by these definitions: the booking
path applies them to slots it has locked, and the SQL of the lock-free reads
(`db/availability.py`) and of set-based writes (`db/slots.py`) is checked
against them by tests.

- A slot's *use* is its bookings plus its live holds.
- A slot's *remaining* capacity is its capacity minus the use of every slot of
  the same person that overlaps it in time (itself included): a person is never
  in two places at once. A location-scoped slot only counts itself.
- A slot is *open* when it is not blocked and has not started.
- The *status* a slot's counters imply: `full` at capacity, `partial` when used,
  else `open`; an admin's `blocked` is kept.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from domain.errors import ErrorCode

BLOCKED, FULL, PARTIAL, OPEN = "blocked", "full", "partial", "open"


def status_for(status: str, used: int, capacity: int) -> str:
    """The status counters imply; `blocked` stays blocked."""
    if status == BLOCKED:
        return BLOCKED
    if used >= capacity:
        return FULL
    return PARTIAL if used else OPEN


def is_open(status: str, start_at: dt.datetime, now: dt.datetime) -> bool:
    return status != BLOCKED and start_at > now


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
        return status_for(self.status, self.used, self.capacity)

    def is_open(self, now: dt.datetime) -> bool:
        return is_open(self.status, self.start_at, now)


def remaining(slot: SlotUse, neighbours: list[SlotUse]) -> int:
    """Capacity left on `slot`, given every locked slot that might overlap it."""
    return slot.capacity - sum(other.used for other in neighbours if slot.overlaps(other))


def hold_refusal(slot: SlotUse, neighbours: list[SlotUse], now: dt.datetime) -> ErrorCode | None:
    """Why `slot` cannot take one more hold (or booking moved onto it), or None if it can."""
    if not slot.is_open(now):
        return ErrorCode.SLOT_UNAVAILABLE
    if remaining(slot, neighbours) <= 0:
        return ErrorCode.SLOT_FULL
    return None
