"""Releases holds whose deadline passed, for the whole platform in one transaction, and
offers the waitlists whatever room is left unoffered."""

import structlog

from common.metrics import BOOKING_OUTCOMES
from common.settings import get_settings
from db import waitlist
from db.expiry import expire_overdue
from workers import lanes
from workers.broker import MAX_RETRIES
from workers.context import current_request_id
from workers.resources import resources
from workers.tasks import EXPIRE_HOLDS, declare

_log = structlog.get_logger("actors.expiry")


@declare(EXPIRE_HOLDS, max_retries=MAX_RETRIES)
async def expire_holds() -> None:
    found = resources()
    hold_ttl = get_settings().hold_ttl_seconds
    async with found.engine.begin() as conn:
        expired = await expire_overdue(conn, current_request_id(), hold_ttl)
    async with found.engine.begin() as conn:
        room = await waitlist.offer_room(conn, hold_ttl, current_request_id())
    left = expired.left | room
    if expired.slots or left:
        async with found.redis.pipeline(transaction=False) as pipe:
            lanes.forget_counts(pipe, set(expired.slots) - set(left))
            lanes.set_counts(pipe, {s: (n.count, n.valid_ms) for s, n in left.items()})
            await pipe.execute()
    if expired.holds:
        BOOKING_OUTCOMES.labels("expired").inc(expired.holds)
        _log.info("holds_expired", holds=expired.holds)
    if left:
        _log.info("waitlist_offered", slots=len(left))
