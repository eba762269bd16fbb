"""Who the waitlist offers freed places to: first come, first served, never over capacity."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from domain.capacity import SlotUse, overbooked, remaining
from domain.policy import BookingPolicy
from domain.waitlist import Waiting, Window, offers, suits

DAY = dt.date(2030, 3, 10)
UTC = ZoneInfo("UTC")
NOW = dt.datetime(2030, 3, 1, tzinfo=dt.UTC)
LOCATION = uuid.uuid4()
PERSON = uuid.uuid4()


def _slot(hour: float, capacity: int = 1, person: uuid.UUID | None = None, buffer: int = 0):
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC) + dt.timedelta(hours=hour)
    return SlotUse(
        uuid.uuid4(),
        person,
        start,
        start + dt.timedelta(minutes=30),
        capacity,
        0,
        0,
        "open",
        BookingPolicy(buffer_minutes=buffer),
    )


def _entry(n: int, start: int | None = None, end: int | None = None, person=None) -> Waiting:
    window = Window.of(DAY, start, end, UTC)
    return Waiting(uuid.uuid4(), LOCATION, person, window, f"phone-{n}")


def _offer(entries, slots, active=None):
    locations = {s.id: LOCATION for s in slots}
    return offers(entries, slots, slots, locations, set(active or ()), NOW)


def test_the_first_entry_gets_the_place() -> None:
    slot = _slot(9)
    first, second = _entry(1), _entry(2)
    made = _offer([first, second], [slot])
    assert [(o.entry, o.slot) for o in made] == [(first, slot)]
    assert slot.hold == 1


def test_an_entry_whose_window_the_slot_misses_is_passed_over() -> None:
    slot = _slot(9)
    morning_late, any_time = _entry(1, 10 * 60, 12 * 60), _entry(2)
    assert [o.entry for o in _offer([morning_late, any_time], [slot])] == [any_time]


def test_an_entry_for_another_person_is_passed_over() -> None:
    slot = _slot(9, person=PERSON)
    other, anyone = _entry(1, person=uuid.uuid4()), _entry(2)
    assert [o.entry for o in _offer([other, anyone], [slot])] == [anyone]


def test_a_customer_holding_the_slot_already_is_passed_over() -> None:
    slot = _slot(9, capacity=2)
    holder, other = _entry(1), _entry(2)
    made = _offer([holder, other], [slot], active={(slot.id, holder.phone_hash)})
    assert [o.entry for o in made] == [other]


def test_each_entry_is_offered_one_place_and_the_earliest_it_suits() -> None:
    late, early = _slot(11, capacity=2), _slot(9, capacity=2)
    first, second = _entry(1), _entry(2)
    made = _offer([first, second], [late, early])
    assert [(o.entry, o.slot) for o in made] == [(first, early), (second, early)]


def test_an_offer_takes_the_place_of_the_slots_its_buffer_reaches() -> None:
    nine = _slot(9, person=PERSON, buffer=30)
    half_past = _slot(9.5, person=PERSON, buffer=30)
    made = _offer([_entry(1), _entry(2)], [nine, half_past])
    assert [o.slot for o in made] == [nine]


def test_a_window_is_wall_clock_time_across_a_clock_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    window = Window.of(dt.date(2030, 3, 31), 9 * 60, 10 * 60, berlin)  # summer time begins
    assert window.start == dt.datetime(2030, 3, 31, 7, tzinfo=dt.UTC)
    assert window.end - window.start == dt.timedelta(hours=1)
    whole_day = Window.of(dt.date(2030, 3, 31), None, None, berlin)
    assert whole_day.end - whole_day.start == dt.timedelta(hours=23)


def test_a_slot_suits_an_entry_only_inside_its_window() -> None:
    slot = _slot(9)
    assert suits(_entry(1, 9 * 60, 9 * 60 + 30), slot, LOCATION)
    assert not suits(_entry(1, 9 * 60, 9 * 60 + 29), slot, LOCATION)
    assert not suits(_entry(1), slot, uuid.uuid4())


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=6, unique=True),
    st.integers(1, 3),
    st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6)), min_size=0, max_size=30),
    st.sampled_from((0, 15, 30)),
)
def test_nobody_jumps_the_queue_and_nothing_is_oversold(
    quarters: list[int], capacity: int, windows: list[tuple[int, int]], buffer: int
) -> None:
    """A person's slots, one capacity (as one rule makes them), and entries with windows."""
    slots = [_slot(9 + quarter / 4, capacity, PERSON, buffer) for quarter in quarters]
    entries = [
        _entry(n, 9 * 60 + 15 * start, 9 * 60 + 15 * (start + length))
        for n, (start, length) in enumerate(windows)
    ]
    made = _offer(entries, slots)
    offered = [o.entry for o in made]
    assert len(set(e.id for e in offered)) == len(offered), "an entry was offered twice"
    assert not any(overbooked(s, slots) for s in slots)
    # An entry passed over found no place it suits that was free when its turn came:
    # so none of the slots it suits has room left now.
    passed_over = [e for e in entries if e not in offered]
    for entry in passed_over:
        assert not any(suits(entry, s, LOCATION) and remaining(s, slots) > 0 for s in slots), (
            "a later entry got a place an earlier one suited"
        )
