"""Capacity under overlapping person slots, and which transitions bookings allow."""

import datetime as dt
import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.capacity import SlotUse, remaining
from domain.lifecycle import can_transition

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
