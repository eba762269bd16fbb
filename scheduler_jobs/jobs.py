"""What the scheduler runs, and how often.

Every job is quick: it sends a task for the workers (by name, `workers/tasks.py`),
or, for the lane sweep, looks at a few Redis keys and maybe sends one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import dramatiq
import redis

from common.settings import Settings
from workers import lanes
from workers.broker import send
from workers.tasks import (
    DRAIN_LANES,
    EXPIRE_HOLDS,
    PURGE_IDEMPOTENCY,
    RELAY_EVENTS,
    ROLL_GENERATION,
    SEND_REMINDERS,
    WAKE_WEBHOOKS,
)

SWEEP_SECONDS = 2.0
RELAY_SECONDS = 1.0
PURGE_SECONDS = 300.0
WEBHOOK_WAKE_SECONDS = 1.0


@dataclass(frozen=True)
class ScheduledJob:
    """A function to run every `interval_seconds` by exactly one scheduler process at a time.

    Jobs are quick (they mostly enqueue work for the workers), so the lease lasts one
    interval: a scheduler killed mid-run blocks the job for at most one tick.
    """

    name: str
    interval_seconds: float
    run: Callable[[], object]

    @property
    def lease_ms(self) -> int:
        return max(1, int(self.interval_seconds * 1000))


def jobs(settings: Settings, broker: dramatiq.Broker, client: redis.Redis) -> list[ScheduledJob]:
    wake = partial(send, broker, DRAIN_LANES)
    return [
        ScheduledJob(
            "expire_holds", settings.expiry_interval_seconds, partial(send, broker, EXPIRE_HOLDS)
        ),
        ScheduledJob("sweep_lanes", SWEEP_SECONDS, partial(lanes.sweep, client, wake)),
        ScheduledJob(
            "roll_generation",
            settings.generation_interval_seconds,
            partial(send, broker, ROLL_GENERATION),
        ),
        ScheduledJob("relay_events", RELAY_SECONDS, partial(send, broker, RELAY_EVENTS)),
        ScheduledJob("purge_idempotency", PURGE_SECONDS, partial(send, broker, PURGE_IDEMPOTENCY)),
        ScheduledJob(
            "send_reminders", settings.reminder_scan_seconds, partial(send, broker, SEND_REMINDERS)
        ),
        ScheduledJob("wake_webhooks", WEBHOOK_WAKE_SECONDS, partial(send, broker, WAKE_WEBHOOKS)),
    ]
