"""The waitlist (contract §10): who waits for what, and who is offered freed capacity.

An entry waits for a slot of one location (and maybe one person) on one local
date, within an optional window of wall-clock time. Capacity that frees on a slot
goes to the waitlist before anyone else: the first waiting entry, in arrival
order, that the slot suits and that may hold it gets a hold (it is *offered*);
one entry is offered one slot at a time, and an entry offered once leaves the
queue, whatever comes of its offer:

    waiting -> offered -> booked    (the customer confirmed the hold)
                       -> declined  (the hold was cancelled)
                       -> lapsed    (the hold expired: the next entry's turn)
    waiting -> cancelled            (the customer left the queue)
"""

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain.capacity import SlotUse, conflicts, hold_refusal

WAITING, OFFERED, BOOKED, DECLINED, LAPSED, CANCELLED = (
    "waiting",
    "offered",
    "booked",
    "declined",
    "lapsed",
    "cancelled",
)
STATUSES = (WAITING, OFFERED, BOOKED, DECLINED, LAPSED, CANCELLED)
DAY_MINUTES = 24 * 60


def _local(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    """A wall-clock time of `day` as an instant; one inside a gap falls where the gap ends."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)


@dataclass(frozen=True)
class Window:
    """The instants a slot must lie within to suit an entry."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(
        cls, day: dt.date, from_minute: int | None, to_minute: int | None, zone: ZoneInfo
    ) -> "Window":
        """`day` in `zone`, narrowed to `[from, to)` wall-clock minutes when given."""
        return cls(
            _local(day, from_minute or 0, zone),
            _local(day, DAY_MINUTES if to_minute is None else to_minute, zone),
        )

    def fits(self, start_at: dt.datetime, end_at: dt.datetime) -> bool:
        return self.start <= start_at and end_at <= self.end


@dataclass(frozen=True)
class Waiting:
    """A waiting entry as the offer sees it; `phone_hash` is its customer's lookup hash."""

    id: uuid.UUID
    location_id: uuid.UUID
    person_id: uuid.UUID | None
    window: Window
    phone_hash: str


def suits(entry: Waiting, slot: SlotUse, location_id: uuid.UUID) -> bool:
    """Whether the slot is one the entry waits for."""
    if entry.location_id != location_id:
        return False
    if entry.person_id is not None and entry.person_id != slot.person_id:
        return False
    return entry.window.fits(slot.start_at, slot.end_at)


@dataclass(frozen=True)
class Offer:
    entry: Waiting
    slot: SlotUse


def offers(
    entries: list[Waiting],
    candidates: list[SlotUse],
    locked: list[SlotUse],
    locations: Mapping[uuid.UUID, uuid.UUID],
    active_phones: set[tuple[uuid.UUID, str]],
    now: dt.datetime,
) -> list[Offer]:
    """Who gets which freed place: each entry in arrival order takes the earliest candidate
    it suits that may take a hold (its customer not holding it already), until no
    candidate has room.

    `candidates` are the slots whose conflicting slots are all in `locked`;
    `locations` gives each candidate's location. Each offer takes one from its slot
    (its `hold` grows), so later decisions see it.
    """
    near = conflicts(candidates, locked)
    free = sorted(
        (s for s in candidates if hold_refusal(s, near[s.id], now) is None),
        key=lambda s: (s.start_at, s.id),
    )
    made: list[Offer] = []
    for entry in entries:
        if not free:
            break
        slot = next((s for s in free if _may_offer(entry, s, locations, active_phones)), None)
        if slot is None:
            continue
        slot.hold += 1
        active_phones.add((slot.id, entry.phone_hash))
        made.append(Offer(entry, slot))
        # Only the slots conflicting with this one can have filled up.
        filled = {t.id for t in near[slot.id] if t.id in near and _full(t, near, now)}
        if filled:
            free = [s for s in free if s.id not in filled]
    return made


def _full(slot: SlotUse, near: Mapping[uuid.UUID, list[SlotUse]], now: dt.datetime) -> bool:
    return hold_refusal(slot, near[slot.id], now) is not None


def _may_offer(
    entry: Waiting,
    slot: SlotUse,
    locations: Mapping[uuid.UUID, uuid.UUID],
    active_phones: set[tuple[uuid.UUID, str]],
) -> bool:
    return (slot.id, entry.phone_hash) not in active_phones and suits(
        entry, slot, locations[slot.id]
    )
