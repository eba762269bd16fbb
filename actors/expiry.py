"""Releases holds whose deadline passed, for the whole platform in one transaction."""

import dramatiq
import structlog

from common import keys
from common.metrics import BOOKING_OUTCOMES
from db.expiry import expire_overdue
from workers.broker import MAX_RETRIES
from workers.context import current_request_id
from workers.resources import resources

_log = structlog.get_logger("actors.expiry")


@dramatiq.actor(queue_name="default", max_retries=MAX_RETRIES)
async def expire_holds() -> None:
    found = resources()
    async with found.engine.begin() as conn:
        freed = await expire_overdue(conn, current_request_id())
    if freed:
        await found.redis.delete(*[keys.admission(slot) for slot in set(freed)])
        BOOKING_OUTCOMES.labels("expired").inc(len(freed))
        _log.info("holds_expired", holds=len(freed))
