"""The supported date range: a year back to five years ahead of today."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from domain.planning import supported_dates


def test_range_is_a_year_back_to_five_years_ahead() -> None:
    assert supported_dates(dt.date(2026, 6, 15)) == (dt.date(2025, 6, 15), dt.date(2031, 6, 15))


def test_leap_day_falls_back_to_the_28th_in_common_years() -> None:
    assert supported_dates(dt.date(2028, 2, 29)) == (dt.date(2027, 2, 28), dt.date(2033, 2, 28))


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2900, 12, 31)))
def test_today_is_always_inside_and_the_span_is_six_years(today: dt.date) -> None:
    first, last = supported_dates(today)
    assert first < today < last
    assert 365 <= (today - first).days <= 366
    assert 5 * 365 <= (last - today).days <= 5 * 366
