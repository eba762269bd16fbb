"""Capacity under overlapping person slots, and which transitions bookings allow."""

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.capacity import SlotUse, conflicts, hold_refusal, remaining
from domain.errors import ErrorCode
from domain.lifecycle import can_transition
from domain.policy import BookingPolicy

T0 = dt.datetime(2030, 1, 7, 9, tzinfo=dt.UTC)
PERSON = uuid.uuid4()


def _slot(minute: int, length: int = 30, used: int = 0, capacity: int = 1, person=PERSON):
    start = T0 + dt.timedelta(minutes=minute)
    return SlotUse(
        uuid.uuid4(), person, start, start + dt.timedelta(minutes=length), capacity, used, 0, "open"
    )


def test_a_hold_on_a_person_slot_takes_the_overlapping_slot() -> None:
    first, second = _slot(0, used=1), _slot(15)
    assert remaining(second, [first, second]) == 0


def test_touching_slots_do_not_overlap() -> None:
    first, second = _slot(0, used=1), _slot(30)
    assert remaining(second, [first, second]) == 1


def test_location_slots_only_count_themselves() -> None:
    first, second = _slot(0, used=1, person=None), _slot(15, person=None)
    assert remaining(second, [first, second]) == 1


def test_other_people_do_not_count() -> None:
    first, second = _slot(0, used=1, person=uuid.uuid4()), _slot(15)
    assert remaining(second, [first, second]) == 1


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 3)), min_size=1, max_size=8))
def test_remaining_never_exceeds_capacity_minus_own_use(specs: list[tuple[int, int]]) -> None:
    slots = [_slot(minute, used=used, capacity=5) for minute, used in specs]
    for slot in slots:
        assert remaining(slot, slots) <= slot.capacity - slot.used


def test_status_follows_counters_but_keeps_blocked() -> None:
    slot = _slot(0, capacity=2)
    assert slot.counted_status() == "open"
    slot.hold = 1
    assert slot.counted_status() == "partial"
    slot.booked = 1
    assert slot.counted_status() == "full"
    slot.status = "blocked"
    assert slot.counted_status() == "blocked"


def test_only_held_bookings_confirm_and_terminal_states_stay() -> None:
    assert can_transition("held", "confirmed")
    assert not can_transition("confirmed", "confirmed")
    assert can_transition("confirmed", "cancelled")
    assert not can_transition("cancelled", "held")
    assert not can_transition("expired", "confirmed")


def _buffered(minute: int, buffer: int, used: int = 0) -> SlotUse:
    slot = _slot(minute, used=used)
    slot.policy = BookingPolicy(buffer_minutes=buffer)
    return slot


def test_a_buffer_takes_the_slots_starting_or_ending_within_it() -> None:
    booked = _buffered(60, 30, used=1)
    before, after = _buffered(30, 30), _buffered(90, 30)
    assert remaining(before, [booked, before]) == 0
    assert remaining(after, [booked, after]) == 0


def test_a_gap_as_long_as_the_buffer_is_free() -> None:
    booked = _buffered(60, 30, used=1)
    before, after = _buffered(0, 30), _buffered(120, 30)
    assert remaining(before, [booked, before]) == 1
    assert remaining(after, [booked, after]) == 1


NOW = T0 - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("policy", "refusal"),
    [
        (BookingPolicy(), None),
        (BookingPolicy(min_notice_minutes=24 * 60 + 1), ErrorCode.TOO_LATE),
        (BookingPolicy(max_advance_days=1), None),
        (BookingPolicy(max_advance_days=1, min_notice_minutes=24 * 60), None),
    ],
)
def test_the_policy_decides_a_holds_start(policy: BookingPolicy, refusal: ErrorCode | None) -> None:
    slot = _slot(0)
    slot.policy = policy
    assert hold_refusal(slot, [slot], NOW) is refusal


def test_too_far_ahead_is_too_early_and_a_past_slot_stays_unavailable() -> None:
    slot = _slot(0)
    slot.policy = BookingPolicy(max_advance_days=1, min_notice_minutes=60)
    assert hold_refusal(slot, [slot], NOW - dt.timedelta(seconds=1)) is ErrorCode.TOO_EARLY
    assert hold_refusal(slot, [slot], T0 + dt.timedelta(minutes=1)) is ErrorCode.SLOT_UNAVAILABLE


def test_a_policy_refusal_comes_before_a_full_slot() -> None:
    slot = _slot(0, used=1)
    assert hold_refusal(slot, [slot], NOW) is ErrorCode.SLOT_FULL
    slot.policy = BookingPolicy(min_notice_minutes=2 * 24 * 60)
    assert hold_refusal(slot, [slot], NOW) is ErrorCode.TOO_LATE


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 2)), min_size=1, max_size=8),
    st.sampled_from((0, 15, 30)),
)
def test_conflicts_are_symmetric_and_found_alike(specs: list[tuple[int, int]], buffer: int) -> None:
    slots = [_buffered(15 * quarter, buffer, used) for quarter, used in specs]
    near = conflicts(slots, slots)
    for slot in slots:
        assert {o.id for o in near[slot.id]} == {o.id for o in slots if slot.overlaps(o)}
        assert all(o.overlaps(slot) for o in near[slot.id])
