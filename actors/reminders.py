"""Sends the reminders that are due: claims them in Postgres and writes their events.

The scheduler sends `send_reminders` every `REMINDER_SCAN_SECONDS`; each run claims
due reminders a batch at a time (`db/reminders.py`: deleted and turned into
`booking.reminder` events in one transaction) until none is left. The outbox relay
then publishes them like every other event, and notifications and webhooks follow.
"""

import structlog

from db import reminders
from workers.broker import MAX_RETRIES
from workers.resources import resources
from workers.tasks import SEND_REMINDERS, declare

_log = structlog.get_logger("actors.reminders")


@declare(SEND_REMINDERS, max_retries=MAX_RETRIES)
async def send_reminders() -> None:
    await send_due()


async def send_due() -> int:
    """Claims every due reminder; returns how many events it wrote."""
    found = resources()
    written = 0
    while True:
        async with found.engine.begin() as conn:
            claimed, events = await reminders.claim_due(conn)
        written += events
        if claimed < reminders.CLAIM_BATCH:
            break
    if written:
        _log.info("reminders_sent", reminders=written)
    return written
