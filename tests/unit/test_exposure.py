"""Slot exposure: bounds, determinism, fairness, stability, rotation and spread."""

import datetime as dt
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from domain.exposure import Candidate, SizeRange, choose, day_part, hour_window, seed

PERSON = SizeRange(1, 3)
LOCATION = SizeRange(3, 5)
DAY = dt.date(2026, 12, 1)
ZONE = dt.timezone(dt.timedelta(hours=4))


def _slot(minute_of_day: int, slot_id: str) -> Candidate:
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=ZONE) + dt.timedelta(minutes=minute_of_day)
    return Candidate(slot_id, start)


slot_lists = st.lists(st.integers(0, 24 * 60 - 1), max_size=40).map(
    lambda minutes: [_slot(m, f"slot-{i}") for i, m in enumerate(minutes)]
)
seeds = st.binary(min_size=32, max_size=32)
ranges = st.sampled_from([PERSON, LOCATION, SizeRange(2, 3), SizeRange(4, 5)])


@given(slot_lists, seeds, ranges, st.booleans())
def test_size_is_within_range_and_capped_by_availability(slots, seed_, sizes, fairness):
    picked = choose(slots, seed_, sizes, fairness)
    if len(slots) >= sizes.low:
        assert sizes.low <= len(picked) <= sizes.high
    else:
        assert len(picked) == len(slots)


@given(st.integers(0, 2), seeds)
def test_location_scope_with_fewer_than_three_slots_shows_them_all(count, seed_):
    slots = [_slot(600 + 30 * i, f"slot-{i}") for i in range(count)]
    assert len(choose(slots, seed_, LOCATION, True)) == count


@given(slot_lists, seeds, ranges, st.booleans())
def test_picked_slots_are_distinct_eligible_and_sorted_by_start(slots, seed_, sizes, fairness):
    picked = choose(slots, seed_, sizes, fairness)
    assert len({c.id for c in picked}) == len(picked)
    assert set(picked) <= set(slots)
    assert picked == sorted(picked, key=lambda c: (c.local_start, c.id))


@given(slot_lists, seeds, ranges, st.booleans(), st.randoms())
def test_same_seed_and_slots_give_the_same_sample_in_any_input_order(
    slots, seed_, sizes, fairness, random
):
    shuffled = list(slots)
    random.shuffle(shuffled)
    assert choose(slots, seed_, sizes, fairness) == choose(shuffled, seed_, sizes, fairness)


@given(slot_lists, seeds, ranges)
def test_every_non_empty_day_part_is_shown_when_k_allows(slots, seed_, sizes):
    picked = choose(slots, seed_, sizes, True)
    parts = {day_part(c.local_start) for c in slots} - {None}
    if len(picked) >= len(parts):
        assert parts <= {day_part(c.local_start) for c in picked}
    else:
        assert len({day_part(c.local_start) for c in picked} - {None}) == len(picked)


@given(slot_lists, seeds, ranges, st.booleans(), st.data())
def test_removing_an_unpicked_slot_leaves_the_sample_unchanged(slots, seed_, sizes, fairness, data):
    picked = choose(slots, seed_, sizes, fairness)
    unpicked = [c for c in slots if c not in picked]
    if not unpicked or len(picked) < sizes.low:
        return
    gone = data.draw(st.sampled_from(unpicked))
    remaining = [c for c in slots if c != gone]
    assert choose(remaining, seed_, sizes, fairness) == picked


@given(st.text(min_size=1), st.integers(0, 10**6), st.booleans())
def test_seed_changes_with_the_hour_window(identity, window, person_scoped):
    person = "p1" if person_scoped else None
    assert seed("salt", identity, DAY, person, window) != seed(
        "salt", identity, DAY, person, window + 1
    )


def test_seed_depends_on_the_secret_salt_identity_date_and_person() -> None:
    base = seed("salt", "visitor", DAY, None, 1)
    assert base == seed("salt", "visitor", DAY, None, 1)
    assert base != seed("other-salt", "visitor", DAY, None, 1)
    assert base != seed("salt", "visitor-2", DAY, None, 1)
    assert base != seed("salt", "visitor", DAY + dt.timedelta(days=1), None, 1)
    assert base != seed("salt", "visitor", DAY, "person", 1)


def test_hour_window_moves_on_the_hour() -> None:
    at = dt.datetime(2026, 12, 1, 9, 59, 59, tzinfo=dt.UTC)
    assert hour_window(at + dt.timedelta(seconds=1)) == hour_window(at) + 1
    assert hour_window(at - dt.timedelta(minutes=59)) == hour_window(at)


def _exposures(slots: list[Candidate], sizes: SizeRange, fairness: bool, n: int) -> Counter:
    counts: Counter = Counter({c.id: 0 for c in slots})
    for i in range(n):
        for c in choose(slots, seed("salt", f"visitor-{i}", DAY, None, 7), sizes, fairness):
            counts[c.id] += 1
    return counts


def _chi_square(counts: list[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((seen - expected) ** 2 / expected for seen in counts)


def test_many_visitors_spread_evenly_over_slots_of_one_day_part() -> None:
    """Chi-square over 3000 visitors and 12 morning slots stays below the 99.9% critical value.

    Each visitor sees k in 3..5 (mean 4), so every slot expects 3000 * 4 / 12 = 1000
    exposures; with 11 degrees of freedom the 99.9% critical value is 31.26. The max/min
    exposure ratio must also stay under 1.2.
    """
    slots = [_slot(6 * 60 + 30 * i, f"slot-{i}") for i in range(12)]
    counts = list(_exposures(slots, LOCATION, True, 3000).values())
    assert _chi_square(counts) < 31.26
    assert max(counts) / min(counts) < 1.2


def test_no_slot_is_starved_across_day_parts() -> None:
    """With fairness on, a lone evening slot is always shown and crowded parts still rotate.

    Over 4000 visitors every slot is shown, and within each day part the exposures pass a
    chi-square test of uniformity at 99.9% (critical values: 19 dof 43.82, 5 dof 20.52).
    """
    morning = [_slot(6 * 60 + 15 * i, f"m{i}") for i in range(20)]
    afternoon = [_slot(12 * 60 + 30 * i, f"a{i}") for i in range(6)]
    evening = [_slot(18 * 60, "e0")]
    counts = _exposures(morning + afternoon + evening, LOCATION, True, 4000)
    assert min(counts.values()) > 0
    assert counts["e0"] == 4000
    assert _chi_square([counts[c.id] for c in morning]) < 43.82
    assert _chi_square([counts[c.id] for c in afternoon]) < 20.52
