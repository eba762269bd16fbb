"""How long the web may trust a slot's admission count."""

from workers.lanes import ADMISSION_MS, admission_ms


def test_without_held_bookings_a_count_lives_the_full_span() -> None:
    assert admission_ms(None) == ADMISSION_MS


def test_a_count_never_outlives_the_first_hold_to_lapse() -> None:
    assert admission_ms(1_200) == 1_200


def test_a_hold_lapsing_now_leaves_no_time_at_all() -> None:
    assert admission_ms(0) == 0


def test_a_far_deadline_is_capped() -> None:
    assert admission_ms(600_000) == ADMISSION_MS
