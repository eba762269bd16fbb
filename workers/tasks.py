"""Every task the workers run, by actor name and queue.

Senders (the web, the scheduler) name a task here and never import an actor
module; `actors/` declares one actor per task with this name and queue.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq


@dataclass(frozen=True)
class Task:
    name: str
    queue: str


DRAIN_LANES = Task("drain_lanes", "holds")
EXPIRE_HOLDS = Task("expire_holds", "default")
GENERATE_SLOTS = Task("generate_slots", "default")
ROLL_GENERATION = Task("roll_generation", "default")
RELAY_EVENTS = Task("relay_events", "default")
NOTIFY = Task("notify", "default")
PURGE_IDEMPOTENCY = Task("purge_idempotency", "default")
SEND_REMINDERS = Task("send_reminders", "default")
DELIVER_WEBHOOK = Task("deliver_webhook", "webhooks")
WAKE_WEBHOOKS = Task("wake_webhooks", "webhooks")

TASKS = (
    DRAIN_LANES,
    EXPIRE_HOLDS,
    GENERATE_SLOTS,
    ROLL_GENERATION,
    RELAY_EVENTS,
    NOTIFY,
    PURGE_IDEMPOTENCY,
    SEND_REMINDERS,
    DELIVER_WEBHOOK,
    WAKE_WEBHOOKS,
)
QUEUES = tuple(sorted({task.queue for task in TASKS}))
WEBHOOK_QUEUES = ("webhooks",)
"""Consumed by the `webhooks` process alone (Procfile), at a lower CPU priority, so that
deliveries to other systems never take the booking path's CPU or threads."""
BOOKING_QUEUES = tuple(q for q in QUEUES if q not in WEBHOOK_QUEUES)
"""Consumed by the `worker` process: everything else."""


def declare(task: Task, **options: Any) -> Callable[[Callable[..., Any]], dramatiq.Actor]:
    """Declares the actor that runs `task`, under the task's name and queue."""
    return dramatiq.actor(actor_name=task.name, queue_name=task.queue, **options)
