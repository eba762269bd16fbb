"""When reminders are due (`domain/reminders.py`)."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.reminders import parse_offsets, planned

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_offsets_are_read_in_any_unit_longest_first_each_once() -> None:
    assert parse_offsets("2h, 24h,1d,30m,45s") == (86400, 7200, 1800, 45)


def test_no_offsets_plan_no_reminders() -> None:
    assert parse_offsets("") == ()
    assert planned(NOW + dt.timedelta(days=2), NOW, ()) == []


@pytest.mark.parametrize("spec", ["24", "h", "-2h", "0h", "2w", "1.5h", "367d"])
def test_an_unreadable_offset_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="reminder offset"):
        parse_offsets(spec)


def test_each_offset_is_due_that_long_before_the_start() -> None:
    start = NOW + dt.timedelta(days=3)
    assert planned(start, NOW, (86400, 7200)) == [
        (86400, start - dt.timedelta(days=1)),
        (7200, start - dt.timedelta(hours=2)),
    ]


def test_an_offset_already_passed_is_due_now() -> None:
    start = NOW + dt.timedelta(hours=3)
    assert planned(start, NOW, (86400, 7200)) == [
        (86400, NOW),
        (7200, start - dt.timedelta(hours=2)),
    ]


def test_nothing_once_the_appointment_has_begun() -> None:
    assert planned(NOW, NOW, (86400, 7200)) == []
    assert planned(NOW - dt.timedelta(minutes=1), NOW, (86400,)) == []


@given(
    start_minutes=st.integers(min_value=-10_000, max_value=1_000_000),
    offsets=st.sets(st.integers(min_value=1, max_value=366 * 86400), max_size=5),
)
def test_every_reminder_is_due_between_now_and_the_start(
    start_minutes: int, offsets: set[int]
) -> None:
    start = NOW + dt.timedelta(minutes=start_minutes)
    ordered = tuple(sorted(offsets, reverse=True))
    due = planned(start, NOW, ordered)
    if start <= NOW:
        assert due == []
        return
    assert [offset for offset, _ in due] == list(ordered)
    for offset, when in due:
        assert NOW <= when < start
        assert when == max(NOW, start - dt.timedelta(seconds=offset))
