"""A rule checks its own invariants when it is made, and names the field each concerns."""

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules import DATE_RANGE, EXCEPTION, KINDS, WEEKLY, InvalidRule, Rule

DAY = dt.date(2030, 1, 7)


def _weekly(**changes: object) -> Rule:
    return Rule(**{"kind": WEEKLY, "start_minute": 9 * 60, "end_minute": 12 * 60, **changes})


def _dated(kind: str, **changes: object) -> Rule:
    return Rule(kind, 0, 60, valid_from=DAY, valid_to=DAY, **changes)


def _field_refused(make: Callable[[], Rule]) -> str:
    with pytest.raises(InvalidRule) as refused:
        make()
    return refused.value.field


def test_a_rule_may_end_at_midnight() -> None:
    assert _weekly(end_minute=1440).end_minute == 1440


def test_a_rule_must_end_after_it_starts() -> None:
    assert _field_refused(lambda: _weekly(end_minute=9 * 60)) == "end_time"
    assert _field_refused(lambda: _weekly(end_minute=8 * 60)) == "end_time"


def test_only_an_end_may_be_midnight() -> None:
    assert _field_refused(lambda: Rule(WEEKLY, 1440, 1440)) == "end_time"
    assert _field_refused(lambda: Rule(WEEKLY, 0, 1441)) == "end_time"
    assert _field_refused(lambda: Rule(WEEKLY, -1, 60)) == "start_time"


def test_slots_last_at_least_a_step() -> None:
    field = _field_refused(lambda: _weekly(granularity=15, duration=10))
    assert field == "slot_duration_minutes"
    assert _weekly(granularity=15, duration=15).duration == 15


def test_a_slot_holds_at_least_one_booking() -> None:
    assert _field_refused(lambda: _weekly(capacity=0)) == "slot_capacity"


def test_slots_step_by_at_least_a_minute() -> None:
    assert _field_refused(lambda: _weekly(granularity=0, duration=30)) == "slot_granularity_minutes"


@pytest.mark.parametrize("kind", [DATE_RANGE, EXCEPTION])
def test_dated_kinds_need_both_dates(kind: str) -> None:
    assert _field_refused(lambda: Rule(kind, 0, 60)) == "valid_from"
    assert _field_refused(lambda: Rule(kind, 0, 60, valid_from=DAY)) == "valid_to"
    assert _field_refused(lambda: Rule(kind, 0, 60, valid_to=DAY)) == "valid_from"
    assert _dated(kind).valid_to == DAY


def test_a_weekly_rule_may_be_open_ended() -> None:
    assert _weekly(valid_from=DAY).valid_to is None


def test_a_rule_must_not_end_before_it_begins() -> None:
    before = DAY - dt.timedelta(days=1)
    assert _field_refused(lambda: _weekly(valid_from=DAY, valid_to=before)) == "valid_to"


@pytest.mark.parametrize("kind", [WEEKLY, DATE_RANGE])
def test_only_an_exception_closes_hours(kind: str) -> None:
    assert _field_refused(lambda: _dated(kind, is_closed=True)) == "is_closed"
    assert _dated(EXCEPTION, is_closed=True).is_closed


@pytest.mark.parametrize("days", [{0}, {8}, {1, 7, 9}])
def test_weekdays_are_iso_weekdays(days: set[int]) -> None:
    assert _field_refused(lambda: _weekly(days_of_week=frozenset(days))) == "days_of_week"


def test_an_unknown_kind_is_refused() -> None:
    assert _field_refused(lambda: Rule("MONTHLY", 0, 60)) == "rule_kind"


def test_a_changed_rule_is_checked_again() -> None:
    """How a partial update validates: the stored rule with the changes applied."""
    stored = _weekly()
    assert dataclasses.replace(stored, end_minute=10 * 60).end_minute == 10 * 60
    assert _field_refused(lambda: dataclasses.replace(stored, end_minute=8 * 60)) == "end_time"


def _holds_every_invariant(values: dict) -> bool:
    dated = values["valid_from"] is not None and values["valid_to"] is not None
    return (
        values["kind"] in KINDS
        and all(1 <= day <= 7 for day in values["days_of_week"] or ())
        and values["capacity"] >= 1
        and values["granularity"] >= 1
        and 0 <= values["start_minute"] < values["end_minute"] <= 1440
        and values["duration"] >= values["granularity"]
        and (values["kind"] == WEEKLY or dated)
        and (not dated or values["valid_from"] <= values["valid_to"])
        and (not values["is_closed"] or values["kind"] == EXCEPTION)
    )


FIELDS = {
    "rule_kind",
    "days_of_week",
    "slot_capacity",
    "slot_granularity_minutes",
    "start_time",
    "end_time",
    "slot_duration_minutes",
    "valid_from",
    "valid_to",
    "is_closed",
}
dates = st.none() | st.dates(DAY - dt.timedelta(days=3), DAY + dt.timedelta(days=3))
weekdays = st.frozensets(st.integers(1, 7), min_size=1) | st.frozensets(st.integers(-1, 9))
minutes = st.sampled_from([-1, 0, 540, 720, 1439, 1440, 1441])


@given(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from([*KINDS, "MONTHLY"]),
            "start_minute": minutes,
            "end_minute": minutes,
            "days_of_week": st.none() | weekdays,
            "valid_from": dates,
            "valid_to": dates,
            "capacity": st.integers(0, 3),
            "granularity": st.sampled_from([0, 1, 15, 30]),
            "duration": st.sampled_from([0, 1, 15, 30, 60]),
            "is_closed": st.booleans(),
        }
    )
)
def test_a_rule_is_made_exactly_when_it_holds_every_invariant(values: dict) -> None:
    try:
        Rule(**values)
    except InvalidRule as refused:
        assert not _holds_every_invariant(values)
        assert refused.field in FIELDS
        assert refused.message == str(refused)
    else:
        assert _holds_every_invariant(values)


@st.composite
def valid_rules(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(KINDS))
    start = draw(st.integers(0, 1439))
    granularity = draw(st.integers(1, 60))
    first = draw(dates.filter(lambda day: day is not None))
    last = first + dt.timedelta(days=draw(st.integers(0, 3)))
    weekly_dates = draw(st.sampled_from([(None, None), (first, None), (None, last), (first, last)]))
    valid_from, valid_to = weekly_dates if kind == WEEKLY else (first, last)
    return {
        "kind": kind,
        "start_minute": start,
        "end_minute": draw(st.integers(start + 1, 1440)),
        "days_of_week": draw(st.none() | st.frozensets(st.integers(1, 7), min_size=1)),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "capacity": draw(st.integers(1, 5)),
        "granularity": granularity,
        "duration": draw(st.integers(granularity, 120)),
        "is_closed": kind == EXCEPTION and draw(st.booleans()),
    }


def _dated_kind(values: dict) -> dict:
    return {**values, "kind": DATE_RANGE} if values["kind"] == WEEKLY else values


BREAKS = [
    ("rule_kind", lambda v: {**v, "kind": "MONTHLY"}),
    ("days_of_week", lambda v: {**v, "days_of_week": frozenset({0, 8})}),
    ("slot_capacity", lambda v: {**v, "capacity": 0}),
    ("slot_granularity_minutes", lambda v: {**v, "granularity": 0}),
    ("start_time", lambda v: {**v, "start_minute": -1}),
    ("end_time", lambda v: {**v, "end_minute": v["start_minute"]}),
    ("end_time", lambda v: {**v, "end_minute": 1441}),
    ("slot_duration_minutes", lambda v: {**v, "granularity": v["duration"] + 1}),
    ("valid_from", lambda v: {**_dated_kind(v), "valid_from": None}),
    ("valid_to", lambda v: {**v, "valid_to": DAY - dt.timedelta(days=5), "valid_from": DAY}),
    ("is_closed", lambda v: {**v, "kind": WEEKLY, "is_closed": True}),
]
"""Each breaks one invariant of a valid rule, and the field it concerns."""


@given(valid_rules())
def test_a_rule_holding_every_invariant_is_made(values: dict) -> None:
    assert Rule(**values) == Rule(**values)


@given(valid_rules(), st.sampled_from(BREAKS))
def test_breaking_one_invariant_is_refused_and_names_its_field(
    values: dict, broken: tuple[str, Callable[[dict], dict]]
) -> None:
    field, break_ = broken
    with pytest.raises(InvalidRule) as refused:
        Rule(**break_(values))
    assert refused.value.field == field
