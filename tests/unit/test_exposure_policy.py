"""The exposure policy around the sample: scope, sizes per variant, the hour, what is remembered."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from common import keys
from common.settings import ExposureVariant
from domain.exposure import (
    Candidate,
    Scope,
    SizeRange,
    choose,
    remembered_by,
    sample,
    scope,
    seed,
    sizes,
    still_shown,
)

DAY = dt.date(2026, 12, 1)
ZONE = dt.timezone(dt.timedelta(hours=4))
WIDE = ExposureVariant(person_min=2, person_max=3, location_min=4, location_max=5)
NOON = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def _slots(count: int) -> list[Candidate]:
    start = dt.datetime.combine(DAY, dt.time(6), tzinfo=ZONE)
    return [Candidate(f"slot-{i}", start + dt.timedelta(minutes=15 * i)) for i in range(count)]


def test_a_query_for_one_person_is_person_scoped() -> None:
    assert scope("person-1") is Scope.PERSON
    assert scope(None) is Scope.LOCATION


def test_each_scope_draws_from_its_own_range_of_the_variant() -> None:
    assert sizes(WIDE, Scope.PERSON) == SizeRange(2, 3)
    assert sizes(WIDE, Scope.LOCATION) == SizeRange(4, 5)


@given(st.text(min_size=1, max_size=20), st.none() | st.just("person-1"))
def test_a_sample_has_its_scope_size(identity: str, person: str | None) -> None:
    shown = sample("salt", identity, DAY, person, WIDE, _slots(40), NOON)
    expected = sizes(WIDE, scope(person))
    assert expected.low <= len(shown) <= expected.high


@given(st.integers(0, 59), st.integers(0, 59))
def test_a_visitor_sees_one_sample_within_an_hour(first: int, second: int) -> None:
    at = [NOON.replace(minute=first), NOON.replace(minute=second, second=59)]
    one, two = (sample("salt", "visitor", DAY, None, WIDE, _slots(40), now) for now in at)
    assert one == two


def test_the_sample_is_seeded_by_the_hour_window() -> None:
    window = int(NOON.timestamp()) // 3600
    seed_ = seed("salt", "visitor", DAY, "person-1", window)
    expected = choose(_slots(40), seed_, SizeRange(2, 3), fairness=True)
    assert sample("salt", "visitor", DAY, "person-1", WIDE, _slots(40), NOON) == expected


def test_the_fairness_of_the_variant_applies() -> None:
    unfair = ExposureVariant(fairness=False)
    window = int(NOON.timestamp()) // 3600
    expected = choose(_slots(40), seed("salt", "v", DAY, None, window), SizeRange(3, 5), False)
    assert sample("salt", "v", DAY, None, unfair, _slots(40), NOON) == expected


def test_a_sample_is_remembered_by_visitor_date_person_and_variant() -> None:
    assert keys.exposure(remembered_by("sub-1", DAY, None, "control")) == (
        "expose:sub-1:2026-12-01:all:control"
    )
    assert keys.exposure(remembered_by("sub-1", DAY, "p-1", "wide")) == (
        "expose:sub-1:2026-12-01:p-1:wide"
    )


@given(st.lists(st.sampled_from([f"slot-{i}" for i in range(8)]), unique=True), st.data())
def test_a_remembered_sample_loses_only_the_slots_taken_since(shown: list[str], data) -> None:
    eligible = set(data.draw(st.sets(st.sampled_from([f"slot-{i}" for i in range(8)]))))
    kept = still_shown(shown, eligible)
    assert set(kept) == set(shown) & eligible
    assert kept == sorted(kept, key=shown.index)
