"""Availability rules and their expansion into slot instants.

Slots step by the rule's granularity in LOCAL wall-clock time from its start and
last `duration` minutes of REAL time; a slot never ends after the rule's end
instant. On a spring-forward day the local times that do not exist are skipped
(a slot is never shifted into the next hour); on a fall-back day a repeated local
time is used once, at its first occurrence. A slot whose real duration would run
past the rule's end because the clocks changed inside it is dropped, like any
slot that does not fit. Everything returned is UTC.

Most days have one UTC offset throughout, so their slots are worked out once in
local minutes per set of rules and shifted to each such day; only the few days
the clocks change step through the zone slot by slot.
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

WEEKLY, DATE_RANGE, EXCEPTION = "WEEKLY", "DATE_RANGE", "EXCEPTION"
KINDS = (WEEKLY, DATE_RANGE, EXCEPTION)
DAY_MINUTES = 1440
"""24:00, which only an end may be."""
ONE_DAY = dt.timedelta(days=1)
K = TypeVar("K")


class InvalidRule(ValueError):
    """A rule breaks one of its invariants.

    `field` names the input the problem concerns as the contract names it
    (`end_time`, `slot_duration_minutes`, ...), so that whoever built the rule from
    a request can point at it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_weekdays(days: Iterable[int] | None) -> None:
    if days is not None and any(day < 1 or day > 7 for day in days):
        raise InvalidRule("days_of_week", "days are ISO weekdays 1 (Monday) to 7 (Sunday)")


@dataclass(frozen=True)
class Rule:
    """Hours one owner is open (or, for a closing exception, closed), in local minutes.

    A rule checks its invariants when it is made, so one that exists is valid however
    it was built: from a request, from a stored row, or from a stored rule changed.
    """

    kind: str
    start_minute: int
    end_minute: int
    days_of_week: frozenset[int] | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    capacity: int = 1
    granularity: int = 15
    duration: int = 30
    is_closed: bool = False
    person_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidRule("rule_kind", "rule_kind must be WEEKLY, DATE_RANGE or EXCEPTION")
        check_weekdays(self.days_of_week)
        if self.capacity < 1:
            raise InvalidRule("slot_capacity", "slot_capacity must be at least 1")
        if self.granularity < 1:
            raise InvalidRule(
                "slot_granularity_minutes", "slot_granularity_minutes must be at least 1"
            )
        self._check_hours()
        self._check_dates()
        if self.is_closed and self.kind != EXCEPTION:
            raise InvalidRule("is_closed", "only EXCEPTION rules can close hours")

    def _check_hours(self) -> None:
        if self.start_minute < 0:
            raise InvalidRule("start_time", "times are HH:MM, 00:00 to 24:00")
        if self.end_minute > DAY_MINUTES:
            raise InvalidRule("end_time", "times are HH:MM, 00:00 to 24:00")
        if self.end_minute <= self.start_minute:
            raise InvalidRule("end_time", "end_time must be after start_time")
        if self.start_minute >= DAY_MINUTES:
            raise InvalidRule("start_time", "start_time must be before 24:00")
        if self.duration < self.granularity:
            raise InvalidRule(
                "slot_duration_minutes",
                "slot_duration_minutes must be at least slot_granularity_minutes",
            )

    def _check_dates(self) -> None:
        if self.kind != WEEKLY and (self.valid_from is None or self.valid_to is None):
            missing = "valid_from" if self.valid_from is None else "valid_to"
            raise InvalidRule(missing, f"{self.kind} rules need valid_from and valid_to")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise InvalidRule("valid_to", "valid_to must not be before valid_from")

    def applies_on(self, day: dt.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_to is not None and day > self.valid_to:
            return False
        return self.days_of_week is None or day.isoweekday() in self.days_of_week


class SlotSpec(NamedTuple):
    """One desired slot; a tuple, so a year of them for many people is cheap to make and sort."""

    start_at: dt.datetime
    end_at: dt.datetime
    date: dt.date
    capacity: int


def _instant(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a local wall-clock time, or None when the clocks skip it."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    aware = naive.replace(tzinfo=zone)
    back = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return aware.astimezone(dt.UTC) if back == naive else None


def _edge(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    """A boundary instant; a boundary inside a gap falls where the gap ends."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)


def _slots(rule: Rule, day: dt.date, zone: ZoneInfo) -> list[SlotSpec]:
    end = _edge(day, rule.end_minute, zone)
    length = dt.timedelta(minutes=rule.duration)
    found = []
    for minute in range(rule.start_minute, rule.end_minute, rule.granularity):
        start = _instant(day, minute, zone)
        if start is not None and start + length <= end:
            found.append(SlotSpec(start, start + length, day, rule.capacity))
    return found


def _opening_rules(rules: list[Rule], day: dt.date) -> tuple[Rule, ...]:
    seasonal = [r for r in rules if r.kind == DATE_RANGE and r.applies_on(day)]
    base = seasonal or [r for r in rules if r.kind == WEEKLY and r.applies_on(day)]
    extra = [r for r in rules if r.kind == EXCEPTION and not r.is_closed and r.applies_on(day)]
    return (*base, *extra)


def _stepped_slots(
    opening: tuple[Rule, ...], closed: tuple[Rule, ...], day: dt.date, zone: ZoneInfo
) -> list[SlotSpec]:
    """A day the clocks change: every slot and closing edge goes through the zone."""
    closings = [(_edge(day, r.start_minute, zone), _edge(day, r.end_minute, zone)) for r in closed]
    by_start: dict[dt.datetime, SlotSpec] = {}
    for rule in opening:
        for slot in _slots(rule, day, zone):
            if not any(slot.start_at < end and start < slot.end_at for start, end in closings):
                by_start.setdefault(slot.start_at, slot)
    return sorted(by_start.values())


# A steady day's slots as (start, end) after local midnight and capacity, by start.
Pattern = tuple[tuple[dt.timedelta, dt.timedelta, int], ...]


def _pattern(opening: tuple[Rule, ...], closed: tuple[Rule, ...]) -> Pattern:
    """What `_stepped_slots` gives on any day with one offset, worked out once in minutes."""
    by_start: dict[int, tuple[dt.timedelta, dt.timedelta, int]] = {}
    for rule in opening:
        last_start = rule.end_minute - rule.duration
        for minute in range(rule.start_minute, last_start + 1, rule.granularity):
            end = minute + rule.duration
            if not any(minute < r.end_minute and r.start_minute < end for r in closed):
                span = (dt.timedelta(minutes=minute), dt.timedelta(minutes=end), rule.capacity)
                by_start.setdefault(minute, span)
    return tuple(by_start[minute] for minute in sorted(by_start))


def _steady_offset(day: dt.date, zone: ZoneInfo) -> dt.timedelta | None:
    """The day's one UTC offset, or None when the clocks change during it or at its midnights.

    Both readings of both midnights agree only if no change falls in between, as no zone
    changes its clocks twice within one day.
    """
    offsets = {
        dt.datetime.combine(midnight, dt.time(fold=fold), zone).utcoffset()
        for midnight in (day, day + ONE_DAY)
        for fold in (0, 1)
    }
    return offsets.pop() if len(offsets) == 1 else None


def _steady_slots(pattern: Pattern, day: dt.date, offset: dt.timedelta) -> list[SlotSpec]:
    midnight = dt.datetime.combine(day, dt.time(), dt.UTC) - offset
    return [SlotSpec(midnight + start, midnight + end, day, cap) for start, end, cap in pattern]


def expand(
    rules: list[Rule],
    shared_exceptions: list[Rule],
    first: dt.date,
    last: dt.date,
    zone: ZoneInfo,
) -> list[SlotSpec]:
    """The slots one owner's rules imply on `[first, last]`, sorted, without duplicates.

    `shared_exceptions` are the location-wide exceptions that apply to every person.
    Days come out in order and each day's slots are sorted; local wall-clock times map
    to instants in the same order, so no two days share or interleave a start.
    """
    exceptions = [r for r in [*rules, *shared_exceptions] if r.kind == EXCEPTION]
    openings = [*rules, *(r for r in shared_exceptions if not r.is_closed)]
    patterns: dict[tuple[tuple[Rule, ...], tuple[Rule, ...]], Pattern] = {}
    found: list[SlotSpec] = []
    day = first
    while day <= last:
        opening = _opening_rules(openings, day)
        closed = tuple(r for r in exceptions if r.is_closed and r.applies_on(day))
        offset = _steady_offset(day, zone)
        if offset is None:
            found += _stepped_slots(opening, closed, day, zone)
        else:
            key = (opening, closed)
            if key not in patterns:
                patterns[key] = _pattern(opening, closed)
            found += _steady_slots(patterns[key], day, offset)
        day += ONE_DAY
    return found


def _dates_intersect(a: Rule, b: Rule) -> bool:
    a_from, a_to = a.valid_from or dt.date.min, a.valid_to or dt.date.max
    b_from, b_to = b.valid_from or dt.date.min, b.valid_to or dt.date.max
    return a_from <= b_to and b_from <= a_to


def _days_intersect(a: Rule, b: Rule) -> bool:
    return a.days_of_week is None or b.days_of_week is None or bool(a.days_of_week & b.days_of_week)


def rules_overlap(a: Rule, b: Rule) -> bool:
    """Same kind and owner, and their dates, weekdays and hours intersect (touching is fine)."""
    return (
        a.kind == b.kind
        and a.person_id == b.person_id
        and _dates_intersect(a, b)
        and _days_intersect(a, b)
        and a.start_minute < b.end_minute
        and b.start_minute < a.end_minute
    )


def first_overlap(candidate: Rule, existing: Mapping[K, Rule]) -> K | None:
    """The key (a stored rule's id) of the first of `existing` that `candidate` overlaps."""
    return next((key for key, rule in existing.items() if rules_overlap(candidate, rule)), None)
