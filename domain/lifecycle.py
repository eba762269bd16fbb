"""A booking's statuses and the transitions between them."""

from domain.errors import ErrorCode, Refused

HELD, CONFIRMED, CANCELLED, EXPIRED = "held", "confirmed", "cancelled", "expired"
# The transitions the API may ask for; expiry is the scheduler's, from `held` only.
TRANSITIONS: dict[str, frozenset[str]] = {
    HELD: frozenset({CONFIRMED, CANCELLED, EXPIRED}),
    CONFIRMED: frozenset({CANCELLED}),
    CANCELLED: frozenset(),
    EXPIRED: frozenset(),
}
MOVABLE = frozenset({HELD, CONFIRMED})
"""Statuses whose booking still takes a place, so it can be moved to another slot."""


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


def require_transition(current: str, target: str) -> None:
    if not can_transition(current, target):
        raise Refused(
            ErrorCode.INVALID_STATE,
            f"a {current} booking cannot become {target}",
            {"status": current},
        )


def require_movable(current: str) -> None:
    if current not in MOVABLE:
        raise Refused(ErrorCode.INVALID_STATE, f"a {current} booking cannot move")
