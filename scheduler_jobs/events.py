"""Every second, one scheduler enqueues the outbox relay."""

from actors.events import relay_events
from common.settings import Settings
from scheduler_jobs.registry import ScheduledJob

RELAY_SECONDS = 1.0


def job(settings: Settings) -> ScheduledJob:
    return ScheduledJob("relay_events", RELAY_SECONDS, relay_events.send)
