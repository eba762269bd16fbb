"""Every `EXPIRY_INTERVAL_SECONDS`, one scheduler enqueues hold expiry."""

from actors.expiry import expire_holds
from common.settings import Settings
from scheduler_jobs.registry import ScheduledJob


def job(settings: Settings) -> ScheduledJob:
    return ScheduledJob("expire_holds", settings.expiry_interval_seconds, expire_holds.send)
