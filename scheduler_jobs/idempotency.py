"""Every `PURGE_SECONDS`, one scheduler enqueues the purge of expired idempotent replies."""

from actors.idempotency import purge_idempotency
from common.settings import Settings
from scheduler_jobs.registry import ScheduledJob

PURGE_SECONDS = 300.0


def job(settings: Settings) -> ScheduledJob:
    return ScheduledJob("purge_idempotency", PURGE_SECONDS, purge_idempotency.send)
