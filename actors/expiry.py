"""Releases holds whose deadline passed, for the whole platform in one transaction."""

import structlog

from common.metrics import BOOKING_OUTCOMES
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
    async with found.engine.begin() as conn:
        freed = await expire_overdue(conn, current_request_id())
    if freed:
        async with found.redis.pipeline(transaction=False) as pipe:
            lanes.forget_counts(pipe, set(freed))
            await pipe.execute()
        BOOKING_OUTCOMES.labels("expired").inc(len(freed))
        _log.info("holds_expired", holds=len(freed))
