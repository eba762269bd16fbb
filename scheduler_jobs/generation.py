"""Every `GENERATION_INTERVAL_SECONDS`, one scheduler enqueues rolling slot generation."""

from actors.generation import roll_generation
from common.settings import Settings
from scheduler_jobs.registry import ScheduledJob


def job(settings: Settings) -> ScheduledJob:
    return ScheduledJob(
        "roll_generation", settings.generation_interval_seconds, roll_generation.send
    )
