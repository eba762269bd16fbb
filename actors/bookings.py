"""Confirm, cancel and reschedule, applied by the lane drainer (`actors/holds.py`).

The web queues a change in the lane of the booking's hold, so a change that
arrives while its hold is still queued is applied after it. Changes of one lane
are applied one after the other, one transaction each (which also stores the
outcome under the request's Idempotency-Key); lanes go side by side. Each outcome
then replaces the web's claim (or its 202) in Redis and goes to the waiting request.
"""

import asyncio
from typing import Any

from common.metrics import BOOKING_OUTCOMES, HOLD_TO_CONFIRM
from common.settings import get_settings
from db.bookings import ChangeResult, apply_change
from domain.commands import Change
from domain.outcomes import BookingRecord
from workers import lanes, outcomes
from workers.resources import resources

_PAST_TENSE = {"confirm": "confirmed", "cancel": "cancelled", "reschedule": "rescheduled"}


async def apply_changes(lanes_changes: list[list[Change]]) -> list[ChangeResult]:
    """Applies each lane's changes in order, the lanes concurrently.

    A failure is raised once every lane has had its turn; nothing is published
    then, and the lanes keep their commands (applied ones replay their outcome).
    """
    results = await asyncio.gather(
        *(_apply_in_order(changes) for changes in lanes_changes), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    return [r for lane_results in results for r in lane_results]  # type: ignore[union-attr]


async def _apply_in_order(changes: list[Change]) -> list[ChangeResult]:
    found = resources()
    settings = get_settings()
    results = []
    for change in changes:
        async with found.engine.begin() as conn:
            results.append(
                await apply_change(
                    conn,
                    change,
                    found.pii,
                    settings.idempotency_ttl_seconds,
                    settings.hold_ttl_seconds,
                )
            )
    return results


def publish(pipe: Any, results: list[ChangeResult]) -> None:
    """Adds to `pipe` what hands each outcome to its requester and sets the slots' counts."""
    found = resources()
    ttl = get_settings().idempotency_ttl_seconds
    outcomes.deliver(pipe, found.pii, [(r.change, r.outcome) for r in results], ttl)
    for result in results:
        lanes.forget_counts(pipe, result.freed - set(result.left))
        lanes.set_counts(pipe, {s: (n.count, n.valid_ms) for s, n in result.left.items()})
        if result.outcome.booking is not None and not result.replayed:
            _count(result.change.kind, result.outcome.booking)


def _count(kind: str, booking: BookingRecord) -> None:
    BOOKING_OUTCOMES.labels(_PAST_TENSE[kind]).inc()
    if kind == "confirm" and booking.confirmed_at is not None:
        waited = booking.confirmed_at - booking.created_at
        HOLD_TO_CONFIRM.observe(waited.total_seconds() * 1000)
