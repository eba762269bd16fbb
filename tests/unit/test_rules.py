"""Rule expansion: weekdays, seasons, exceptions, and wall-clock time across DST changes."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from domain.rules import (
    DATE_RANGE,
    EXCEPTION,
    WEEKLY,
    Rule,
    SlotSpec,
    _edge,
    _slots,
    expand,
    rules_overlap,
)

UTC = ZoneInfo("UTC")
MONDAY = dt.date(2027, 1, 4)


def _local(slots, zone: str) -> list[str]:
    return [s.start_at.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in slots]


def test_weekly_rule_counts_per_weekday() -> None:
    rule = Rule(WEEKLY, 9 * 60, 12 * 60, frozenset({1, 3}), granularity=30, duration=30)
    slots = expand([rule], [], MONDAY, MONDAY + dt.timedelta(days=13), UTC)
    assert len(slots) == 4 * 6
    assert {s.date.isoweekday() for s in slots} == {1, 3}


def test_date_range_replaces_weekly_hours_on_its_dates() -> None:
    weekly = Rule(WEEKLY, 9 * 60, 17 * 60, granularity=60, duration=60)
    season = Rule(
        DATE_RANGE,
        10 * 60,
        12 * 60,
        valid_from=MONDAY,
        valid_to=MONDAY,
        granularity=60,
        duration=60,
    )
    slots = expand([weekly, season], [], MONDAY, MONDAY + dt.timedelta(days=1), UTC)
    assert _local([s for s in slots if s.date == MONDAY], "UTC") == ["10:00", "11:00"]
    assert len([s for s in slots if s.date != MONDAY]) == 8


def test_closing_exception_removes_overlapping_slots() -> None:
    weekly = Rule(WEEKLY, 9 * 60, 12 * 60, granularity=30, duration=30)
    lunch = Rule(EXCEPTION, 10 * 60, 11 * 60, valid_from=MONDAY, valid_to=MONDAY, is_closed=True)
    slots = expand([weekly], [lunch], MONDAY, MONDAY, UTC)
    assert _local(slots, "UTC") == ["09:00", "09:30", "11:00", "11:30"]


def test_extra_hours_exception_adds_slots() -> None:
    extra = Rule(
        EXCEPTION, 18 * 60, 19 * 60, valid_from=MONDAY, valid_to=MONDAY, duration=60, granularity=60
    )
    assert _local(expand([extra], [], MONDAY, MONDAY, UTC), "UTC") == ["18:00"]


def test_rule_ending_at_midnight_fills_the_day() -> None:
    rule = Rule(WEEKLY, 23 * 60, 1440, granularity=30, duration=30)
    assert _local(expand([rule], [], MONDAY, MONDAY, UTC), "UTC") == ["23:00", "23:30"]


def test_spring_forward_skips_local_times_that_do_not_exist() -> None:
    zone = ZoneInfo("America/New_York")
    rule = Rule(WEEKLY, 0, 4 * 60, granularity=30, duration=30)
    day = dt.date(2027, 3, 14)
    slots = expand([rule], [], day, day, zone)
    assert _local(slots, "America/New_York") == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "03:00",
        "03:30",
    ]


def test_fall_back_uses_a_repeated_local_time_once() -> None:
    zone = ZoneInfo("America/New_York")
    rule = Rule(WEEKLY, 0, 4 * 60, granularity=30, duration=30)
    day = dt.date(2027, 11, 7)
    slots = expand([rule], [], day, day, zone)
    starts = [s.start_at for s in slots]
    assert len(starts) == len(set(starts)) == 8
    assert _local(slots, "America/New_York").count("01:00") == 1


def test_dubai_has_no_dst_and_stores_utc() -> None:
    rule = Rule(WEEKLY, 9 * 60, 10 * 60, granularity=60, duration=60)
    slot = expand([rule], [], MONDAY, MONDAY, ZoneInfo("Asia/Dubai"))[0]
    assert slot.start_at == dt.datetime(2027, 1, 4, 5, tzinfo=dt.UTC)


def test_london_spring_forward_skips_one_hour() -> None:
    rule = Rule(WEEKLY, 0, 4 * 60, granularity=60, duration=60)
    day = dt.date(2027, 3, 28)
    assert _local(expand([rule], [], day, day, ZoneInfo("Europe/London")), "Europe/London") == [
        "00:00",
        "02:00",
        "03:00",
    ]


def test_lord_howe_half_hour_shift() -> None:
    zone = ZoneInfo("Australia/Lord_Howe")
    rule = Rule(WEEKLY, 60, 4 * 60, granularity=30, duration=30)
    spring = dt.date(2027, 10, 3)
    assert "02:00" not in _local(expand([rule], [], spring, spring, zone), "Australia/Lord_Howe")
    autumn = dt.date(2027, 4, 4)
    starts = [s.start_at for s in expand([rule], [], autumn, autumn, zone)]
    assert len(starts) == len(set(starts))


def test_spring_forward_at_midnight_skips_the_missing_midnight_hour() -> None:
    rule = Rule(WEEKLY, 0, 3 * 60, granularity=60, duration=60)
    day = dt.date(2027, 3, 14)
    slots = expand([rule], [], day, day, ZoneInfo("America/Havana"))
    assert _local(slots, "America/Havana") == ["01:00", "02:00"]


def test_fall_back_at_midnight_uses_the_repeated_hour_once() -> None:
    rule = Rule(WEEKLY, 22 * 60, 1440, granularity=60, duration=60)
    day = dt.date(2027, 4, 3)
    slots = expand([rule], [], day, day, ZoneInfo("America/Santiago"))
    assert _local(slots, "America/Santiago") == ["22:00", "23:00"]


def test_overlap_needs_same_kind_owner_dates_days_and_hours() -> None:
    base = Rule(WEEKLY, 9 * 60, 12 * 60, frozenset({1, 2}))
    assert rules_overlap(base, Rule(WEEKLY, 11 * 60, 13 * 60, frozenset({2})))
    assert not rules_overlap(base, Rule(WEEKLY, 12 * 60, 13 * 60, frozenset({1})))
    assert not rules_overlap(base, Rule(WEEKLY, 9 * 60, 12 * 60, frozenset({3})))
    assert not rules_overlap(
        base, Rule(DATE_RANGE, 9 * 60, 12 * 60, valid_from=MONDAY, valid_to=MONDAY)
    )
    assert not rules_overlap(base, Rule(WEEKLY, 9 * 60, 12 * 60, person_id=uuid.uuid4()))
    later = Rule(WEEKLY, 9 * 60, 12 * 60, valid_from=dt.date(2030, 1, 1))
    earlier = Rule(WEEKLY, 9 * 60, 12 * 60, valid_to=dt.date(2029, 12, 31))
    assert not rules_overlap(later, earlier)


EVERY_DAY_TESTED = (dt.date(2026, 1, 1), dt.date(2030, 12, 31))
"""The dates of a closing exception that applies on every day a property test expands."""

zones = st.sampled_from(
    ["UTC", "Asia/Dubai", "America/New_York", "Europe/London", "Australia/Lord_Howe"]
)


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[list[Rule], list[Rule]]:
    def hours() -> tuple[int, int]:
        start = draw(st.integers(0, 1380))
        return start, draw(st.integers(start + 1, 1440))

    openings = []
    for _ in range(draw(st.integers(1, 3))):
        start, end = hours()
        granularity = draw(st.sampled_from([5, 10, 15, 30, 60]))
        duration = granularity * draw(st.integers(1, 3))
        openings.append(Rule(WEEKLY, start, end, granularity=granularity, duration=duration))
    closings = []
    for _ in range(draw(st.integers(0, 2))):
        start, end = hours()
        closings.append(Rule(EXCEPTION, start, end, None, *EVERY_DAY_TESTED, is_closed=True))
    return openings, closings


@given(rule_sets(), zones, st.dates(dt.date(2026, 1, 1), dt.date(2029, 12, 31)))
def test_expansion_properties(rules, zone_name: str, day: dt.date) -> None:
    openings, closings = rules
    zone = ZoneInfo(zone_name)
    slots = expand(openings, closings, day, day + dt.timedelta(days=2), zone)
    starts = [s.start_at for s in slots]
    assert starts == sorted(starts)
    assert len(starts) == len(set(starts))
    for slot in slots:
        local_start = slot.start_at.astimezone(zone)
        minute = local_start.hour * 60 + local_start.minute
        assert any(r.start_minute <= minute < r.end_minute for r in openings)
        assert slot.end_at > slot.start_at
        for closing in closings:
            day_start = dt.datetime.combine(slot.date, dt.time(), zone)
            close_start = (day_start + dt.timedelta(minutes=closing.start_minute)).astimezone(UTC)
            close_end = (day_start + dt.timedelta(minutes=closing.end_minute)).astimezone(UTC)
            if (close_end - close_start) == dt.timedelta(
                minutes=closing.end_minute - closing.start_minute
            ):
                assert not (slot.start_at < close_end and close_start < slot.end_at)


def _reference_expand(
    rules: list[Rule], shared: list[Rule], first: dt.date, last: dt.date, zone: ZoneInfo
) -> list[SlotSpec]:
    """Every slot of every day stepped through the zone: what `expand` must equal."""
    exceptions = [r for r in [*rules, *shared] if r.kind == EXCEPTION]
    openings = [*rules, *(r for r in shared if not r.is_closed)]
    by_start: dict[dt.datetime, SlotSpec] = {}
    day = first
    while day <= last:
        closed = [
            (_edge(day, r.start_minute, zone), _edge(day, r.end_minute, zone))
            for r in exceptions
            if r.is_closed and r.applies_on(day)
        ]
        seasonal = [r for r in openings if r.kind == DATE_RANGE and r.applies_on(day)]
        base = seasonal or [r for r in openings if r.kind == WEEKLY and r.applies_on(day)]
        extra = [
            r for r in openings if r.kind == EXCEPTION and not r.is_closed and r.applies_on(day)
        ]
        for rule in base + extra:
            for slot in _slots(rule, day, zone):
                if not any(slot.start_at < end and start < slot.end_at for start, end in closed):
                    by_start.setdefault(slot.start_at, slot)
        day += dt.timedelta(days=1)
    return sorted(by_start.values())


# Days the clocks change in 2027, some of them at midnight (Havana, Santiago, Beirut).
CHANGES = {
    "America/New_York": [dt.date(2027, 3, 14), dt.date(2027, 11, 7)],
    "Europe/London": [dt.date(2027, 3, 28), dt.date(2027, 10, 31)],
    "Australia/Lord_Howe": [dt.date(2027, 4, 4), dt.date(2027, 10, 3)],
    "America/Havana": [dt.date(2027, 3, 14), dt.date(2027, 11, 7)],
    "America/Santiago": [dt.date(2027, 4, 3), dt.date(2027, 9, 5)],
    "Asia/Beirut": [dt.date(2027, 3, 28), dt.date(2027, 10, 30)],
}


@st.composite
def any_rules(draw: st.DrawFn, around: dt.date) -> list[Rule]:
    """Weekly, seasonal and exception rules, open and closed, valid on days near `around`."""
    found = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 1380))
        granularity = draw(st.sampled_from([5, 15, 30, 60]))
        valid_from = around + dt.timedelta(days=draw(st.integers(-3, 3)))
        kind = draw(st.sampled_from([WEEKLY, DATE_RANGE, EXCEPTION]))
        found.append(
            Rule(
                kind,
                start,
                draw(st.integers(start + 1, 1440)),
                draw(st.none() | st.frozensets(st.integers(1, 7), min_size=1)),
                valid_from,
                valid_from + dt.timedelta(days=draw(st.integers(0, 3))),
                capacity=draw(st.integers(1, 3)),
                granularity=granularity,
                duration=granularity * draw(st.integers(1, 3)),
                is_closed=kind == EXCEPTION and draw(st.booleans()),
            )
        )
    return found


@st.composite
def owners_near_a_change(draw: st.DrawFn) -> tuple[str, dt.date, list[Rule], list[Rule]]:
    zone_name = draw(st.sampled_from(sorted(CHANGES)))
    change = draw(st.sampled_from(CHANGES[zone_name]))
    shared = [r for r in draw(any_rules(change)) if r.kind == EXCEPTION]
    return zone_name, change, draw(any_rules(change)), shared


def test_rule_ending_at_a_midnight_the_clocks_skip_is_stepped() -> None:
    zone = ZoneInfo("America/Havana")
    rule = Rule(WEEKLY, 22 * 60, 1440, granularity=60, duration=60)
    day = dt.date(2027, 3, 13)
    assert expand([rule], [], day, day, zone) == _reference_expand([rule], [], day, day, zone)


@given(owners_near_a_change(), st.integers(-3, 0), st.integers(0, 5))
def test_expansion_equals_stepping_every_slot_through_the_zone(
    case: tuple[str, dt.date, list[Rule], list[Rule]], before: int, days: int
) -> None:
    zone_name, change, rules, shared = case
    zone = ZoneInfo(zone_name)
    first = change + dt.timedelta(days=before)
    last = first + dt.timedelta(days=days)
    assert expand(rules, shared, first, last, zone) == _reference_expand(
        rules, shared, first, last, zone
    )
