"""The drainer: applies the lanes' commands in Postgres and answers each one.

`workers/lanes.py` says how commands travel and in what order; this applies a
batch of them: every lane's holds in one transaction (`db/holds.py`), each
lane's changes in order (`actors/bookings.py`), then hands each outcome to its
requester and sets the admission counts of the slots the batch decided about.
"""

from typing import Any

import dramatiq
import structlog

from actors.bookings import apply_changes
from actors.bookings import publish as publish_changes
from common.metrics import BOOKING_OUTCOMES, SLOT_CONFLICTS
from common.settings import get_settings
from db.holds import Applied, apply_holds
from domain.commands import Change, Command, HoldCommand
from domain.errors import ErrorCode
from domain.outcomes import Outcome
from workers import lanes, outcomes
from workers.broker import MAX_RETRIES, send
from workers.resources import resources
from workers.stopping import STOPPING
from workers.tasks import DRAIN_LANES, declare

_OUTCOME_LABELS = {
    ErrorCode.SLOT_FULL: "slot_full",
    ErrorCode.SLOT_UNAVAILABLE: "unavailable",
    ErrorCode.DUPLICATE_BOOKING: "duplicate",
    ErrorCode.NOT_FOUND: "not_found",
    ErrorCode.TOO_MANY_HOLDS: "too_many_holds",
    ErrorCode.TOO_LATE: "too_late",
    ErrorCode.TOO_EARLY: "too_early",
}
_log = structlog.get_logger("actors.holds")


@declare(DRAIN_LANES, max_retries=MAX_RETRIES)
async def drain_lanes(helper: bool = False) -> None:
    """The live drainer, or (`helper`) one that drains beside it while lanes wait."""
    broker = dramatiq.get_broker()

    def send_helper() -> None:
        send(broker, DRAIN_LANES, True)

    if helper:
        await lanes.help_drain(resources().redis, apply, refuse, send_helper)
        return
    await lanes.drain(
        resources().redis,
        apply,
        refuse,
        relay=lambda: send(broker, DRAIN_LANES),
        stopping=STOPPING.is_set,
        helper=send_helper,
    )


async def apply(holds: list[HoldCommand], changes: list[list[Change]]) -> lanes.Publish:
    applied = await _apply_holds(holds) if holds else None
    changed = await apply_changes(changes) if changes else []
    request_ids = {c.request_id for c in holds} | {c.request_id for run in changes for c in run}
    _log.info(
        "lanes_batch_applied",
        commands=len(holds) + sum(len(run) for run in changes),
        request_ids=sorted(r for r in request_ids if r),
    )

    def publish(pipe: Any) -> None:
        if applied is not None:
            _publish(pipe, applied)
        publish_changes(pipe, changed)

    return publish


def refuse(command: Command, error: BaseException) -> lanes.Publish:
    """Answers INTERNAL to a command Postgres refuses on every try (its data is not
    what the web should have let through), so that it no longer holds up its lane."""
    _log.error(
        "lanes_command_refused",
        command_id=command.command_id,
        request_id=command.request_id,
        sqlstate=getattr(getattr(error, "orig", None), "sqlstate", None),
    )
    outcome = Outcome(
        code=ErrorCode.INTERNAL,
        message="the request could not be applied",
        request_id=command.request_id,
    )

    def publish(pipe: Any) -> None:
        ttl = get_settings().idempotency_ttl_seconds
        outcomes.deliver(pipe, resources().pii, [(command, outcome)], ttl)
        if isinstance(command, HoldCommand):
            lanes.settle_holds(pipe, [(command, outcome)])
        _count(outcome.code)

    return publish


async def _apply_holds(holds: list[HoldCommand]) -> Applied:
    found = resources()
    settings = get_settings()
    async with found.engine.begin() as conn:
        return await apply_holds(
            conn,
            holds,
            found.pii,
            settings.hold_ttl_seconds,
            settings.idempotency_ttl_seconds,
            settings.max_live_holds,
        )


def _publish(pipe: Any, applied: Applied) -> None:
    """Hands each outcome to its requester (waiting, replaying or polling); counts what is left."""
    found = resources()
    ttl = get_settings().idempotency_ttl_seconds
    lanes.set_counts(pipe, {s: (left.count, left.valid_ms) for s, left in applied.left.items()})
    decided = [(result.command, result.outcome) for result in applied.results]
    outcomes.deliver(pipe, found.pii, decided, ttl)
    lanes.settle_holds(pipe, decided)
    for _, outcome in decided:
        _count(outcome.code)


def _count(code: ErrorCode | None) -> None:
    BOOKING_OUTCOMES.labels("held" if code is None else _OUTCOME_LABELS.get(code, "other")).inc()
    if code in (ErrorCode.SLOT_FULL, ErrorCode.SLOT_UNAVAILABLE, ErrorCode.DUPLICATE_BOOKING):
        SLOT_CONFLICTS.labels(code.value).inc()
