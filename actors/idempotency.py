"""Deletes idempotent replies past their `IDEMPOTENCY_TTL_SECONDS`.

Nothing reads an expired reply, and each one is a booking's reply (sealed, but
customer data all the same) that has no reason to stay.
"""

import structlog

from db.idempotency import purge_expired
from workers.broker import MAX_RETRIES
from workers.resources import resources
from workers.tasks import PURGE_IDEMPOTENCY, declare

_log = structlog.get_logger("actors.idempotency")


@declare(PURGE_IDEMPOTENCY, max_retries=MAX_RETRIES)
async def purge_idempotency() -> None:
    purged = await purge_expired(resources().engine)
    if purged:
        _log.info("idempotency_records_purged", records=purged)
