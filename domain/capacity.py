"""What a slot has left, and whether it may take one more hold.

Every reader and writer of capacity goes by these definitions: the booking
path applies them to slots it has locked, and the SQL of the lock-free reads
(`db/availability.py`), of the row locks (`db/slots.py`) and of the invariant
checker (`db/invariants.py`) is checked against them by tests.

- A slot's *use* is its bookings plus its live holds.
- Two slots *conflict* when they are the same slot, or slots of the same person
  that overlap in time once one is stretched by the location's buffer (its
  policy's `buffer_minutes`): a person is never in two places at once, and keeps
  the buffer free around each booking. Slots that merely touch do not conflict
  without a buffer.
- A slot's *remaining* capacity is its capacity minus the use of every slot it
  conflicts with (itself included). A location-scoped slot only counts itself.
- A slot is *open* when it is not blocked and has not started.
- A slot may take a hold when it is open, its location's policy allows its start
  (minimum notice, maximum advance), and something remains.
- The *status* a slot's counters imply: `full` at capacity, `partial` when used,
  else `open`; an admin's `blocked` is kept.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from domain.errors import ErrorCode
from domain.policy import BookingPolicy

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
    policy: BookingPolicy = field(default_factory=BookingPolicy)
    """Its location's booking policy."""

    @property
    def used(self) -> int:
        return self.booked + self.hold

    @property
    def buffer(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.policy.buffer_minutes)

    def overlaps(self, other: "SlotUse") -> bool:
        """Whether the two slots conflict (a person's slots share a location, so a buffer)."""
        if self.id == other.id:
            return True
        if self.person_id is None or self.person_id != other.person_id:
            return False
        buffer = self.buffer
        return self.start_at < other.end_at + buffer and other.start_at < self.end_at + buffer

    def counted_status(self) -> str:
        return status_for(self.status, self.used, self.capacity)

    def is_open(self, now: dt.datetime) -> bool:
        return is_open(self.status, self.start_at, now)


def conflicts(slots: list[SlotUse], among: list[SlotUse]) -> dict[uuid.UUID, list[SlotUse]]:
    """For each of `slots`, the slots of `among` it conflicts with (itself included when
    there); looked for only among the same person's, so that many slots stay cheap."""
    by_id = {other.id: other for other in among}
    by_person: dict[uuid.UUID, list[SlotUse]] = {}
    for other in among:
        if other.person_id is not None:
            by_person.setdefault(other.person_id, []).append(other)
    found = {}
    for slot in slots:
        if slot.person_id is None:
            found[slot.id] = [by_id[slot.id]] if slot.id in by_id else []
        else:
            found[slot.id] = [o for o in by_person.get(slot.person_id, []) if slot.overlaps(o)]
    return found


def remaining(slot: SlotUse, neighbours: list[SlotUse]) -> int:
    """Capacity left on `slot`, given every locked slot that might conflict with it."""
    return slot.capacity - sum(other.used for other in neighbours if slot.overlaps(other))


def hold_refusal(slot: SlotUse, neighbours: list[SlotUse], now: dt.datetime) -> ErrorCode | None:
    """Why `slot` cannot take one more hold (or booking moved onto it), or None if it can."""
    if not slot.is_open(now):
        return ErrorCode.SLOT_UNAVAILABLE
    if slot.policy.too_late(slot.start_at, now):
        return ErrorCode.TOO_LATE
    if slot.policy.too_early(slot.start_at, now):
        return ErrorCode.TOO_EARLY
    if remaining(slot, neighbours) <= 0:
        return ErrorCode.SLOT_FULL
    return None


def overbooked(slot: SlotUse, slots: list[SlotUse]) -> bool:
    """Whether the slot's person is busier than capacity at the slot's start (`db.invariants`).

    With each of the person's slots stretched by half the buffer on either side
    (so that two of them overlap exactly when they conflict), the slots covering
    that instant must together be used no more than the smallest of their capacities.
    """
    covering = [
        other
        for other in slots
        if other.id == slot.id
        or (
            slot.person_id is not None
            and other.person_id == slot.person_id
            and other.start_at <= slot.start_at < other.end_at + other.buffer
        )
    ]
    return sum(o.used for o in covering) > min(o.capacity for o in covering)
