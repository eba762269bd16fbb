"""A location's booking policy: what it accepts, and what it says about a slot's start."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.policy import BookingPolicy, InvalidPolicy

NOW = dt.datetime(2030, 1, 7, 9, tzinfo=dt.UTC)


def test_an_empty_policy_is_the_default() -> None:
    assert BookingPolicy.from_json({}) == BookingPolicy()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"min_notice_minutes": -1}, "min_notice_minutes"),
        ({"max_advance_days": 0}, "max_advance_days"),
        ({"buffer_minutes": 1441}, "buffer_minutes"),
        ({"buffer_minutes": True}, "buffer_minutes"),
        ({"buffer_minutes": "5"}, "buffer_minutes"),
        ({"lead_time": 5}, "lead_time"),
    ],
)
def test_a_field_out_of_range_is_named(values: dict, field: str) -> None:
    with pytest.raises(InvalidPolicy) as refused:
        BookingPolicy.from_json(values)
    assert refused.value.field == field


def test_a_slot_inside_the_minimum_notice_is_too_late() -> None:
    policy = BookingPolicy(min_notice_minutes=60)
    assert policy.too_late(NOW + dt.timedelta(minutes=59), NOW)
    assert not policy.too_late(NOW + dt.timedelta(minutes=60), NOW)


def test_a_slot_past_the_maximum_advance_is_too_early() -> None:
    policy = BookingPolicy(max_advance_days=7)
    assert policy.too_early(NOW + dt.timedelta(days=7, seconds=1), NOW)
    assert not policy.too_early(NOW + dt.timedelta(days=7), NOW)
    assert not BookingPolicy().too_early(NOW + dt.timedelta(days=3000), NOW)


@given(st.integers(0, 525_600), st.one_of(st.none(), st.integers(1, 1830)), st.integers(0, 1440))
def test_a_valid_policy_survives_its_json(notice: int, advance: int | None, buffer: int) -> None:
    policy = BookingPolicy(notice, advance, buffer)
    assert BookingPolicy.from_json(policy.to_json()) == policy
