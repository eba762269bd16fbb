"""Which few of a day's eligible slots a visitor is shown.

Showing every slot invites everyone onto the same few times; showing a small,
per-visitor sample spreads demand. The sample must be:

- deterministic: a seed is an HMAC, under a secret salt, of identity, date,
  person (or 'all') and the hour window, so the same visitor sees the same
  sample within the hour and visitors cannot compute anyone else's;
- stable: slots are ranked by HMAC(seed, slot id) rather than shuffled by list
  position, so a slot appearing or vanishing never reorders the others;
- sized: k is drawn from the seed within the variant's range for the query's
  scope (one person, or a whole location) and capped by availability
  (0 eligible -> 0, 2 -> 2);
- fair: with the variant's fairness on, the best-ranked slot of every
  non-empty day part (morning 06-12, afternoon 12-17, evening 17-22, local
  time) is taken first, in rank order, then the rest in rank order;
- rotating: the hour window in the seed moves every slot's rank each hour, so
  no slot is starved for long;
- sticky: a visitor's sample is remembered (`remembered_by`) and shown again
  until it expires, minus the slots taken meanwhile; once all are taken a new
  one is drawn.
"""

import datetime as dt
import hashlib
import hmac
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

ALL = "all"
"""The person part of a location-scoped query's seed and remembered sample."""


class DayPart(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


_DAY_PARTS = ((6, 12, DayPart.MORNING), (12, 17, DayPart.AFTERNOON), (17, 22, DayPart.EVENING))


@dataclass(frozen=True)
class Candidate:
    """An eligible slot: its id and its start in the zone the visitor sees."""

    id: str
    local_start: dt.datetime


class Scope(StrEnum):
    PERSON = "person"
    LOCATION = "location"


@dataclass(frozen=True)
class SizeRange:
    low: int
    high: int


class Variant(Protocol):
    """One experiment arm: its sample sizes per scope, and whether fairness is on.

    The settings' `ExposureVariant` is one.
    """

    person_min: int
    person_max: int
    location_min: int
    location_max: int
    fairness: bool


def scope(person: str | None) -> Scope:
    return Scope.PERSON if person else Scope.LOCATION


def sizes(variant: Variant, scope_: Scope) -> SizeRange:
    if scope_ is Scope.PERSON:
        return SizeRange(variant.person_min, variant.person_max)
    return SizeRange(variant.location_min, variant.location_max)


def day_part(local_start: dt.datetime) -> DayPart | None:
    for low, high, part in _DAY_PARTS:
        if low <= local_start.hour < high:
            return part
    return None


def hour_window(now: dt.datetime) -> int:
    """The hour the seed belongs to: hours since the epoch, UTC."""
    return int(now.timestamp()) // 3600


def seed(salt: str, identity: str, day: dt.date, person: str | None, window: int) -> bytes:
    message = "\x1f".join((identity, day.isoformat(), person or ALL, str(window)))
    return hmac.new(salt.encode(), message.encode(), hashlib.sha256).digest()


def rank(seed_: bytes, slot_id: str) -> bytes:
    return hmac.new(seed_, slot_id.encode(), hashlib.sha256).digest()


def size(seed_: bytes, sizes: SizeRange, available: int) -> int:
    """k for this seed: uniform in the range, capped by how many slots are eligible."""
    draw = int.from_bytes(hmac.new(seed_, b"k", hashlib.sha256).digest()[:8], "big")
    k = sizes.low + draw % (sizes.high - sizes.low + 1)
    return min(k, available)


def choose(
    candidates: Sequence[Candidate], seed_: bytes, sizes: SizeRange, fairness: bool
) -> list[Candidate]:
    """The exposed sample, sorted by start."""
    ranked = sorted(candidates, key=lambda c: rank(seed_, c.id))
    k = size(seed_, sizes, len(ranked))
    picked: list[Candidate] = []
    if fairness:
        leaders: dict[DayPart, Candidate] = {}
        for candidate in ranked:
            part = day_part(candidate.local_start)
            if part is not None and part not in leaders:
                leaders[part] = candidate
        picked = [c for c in ranked if c in leaders.values()][:k]
    chosen = set(picked)
    picked += [c for c in ranked if c not in chosen][: k - len(picked)]
    return sorted(picked, key=lambda c: (c.local_start, c.id))


def sample(
    salt: str,
    identity: str,
    day: dt.date,
    person: str | None,
    variant: Variant,
    candidates: Sequence[Candidate],
    now: dt.datetime,
) -> list[Candidate]:
    """What this visitor is shown of the day's eligible slots in the current hour."""
    seed_ = seed(salt, identity, day, person, hour_window(now))
    return choose(candidates, seed_, sizes(variant, scope(person)), variant.fairness)


def remembered_by(
    identity: str, day: dt.date, person: str | None, variant: str
) -> tuple[str, str, str, str]:
    """What a shown sample is remembered under: the visitor, the date, the person (or
    all) and the variant. Not the hour window: a remembered sample outlives it."""
    return identity, day.isoformat(), person or ALL, variant


def still_shown(remembered: Iterable[str], eligible: Container[str]) -> list[str]:
    """A remembered sample minus the slots taken since; empty means draw a new one."""
    return [slot_id for slot_id in remembered if slot_id in eligible]
