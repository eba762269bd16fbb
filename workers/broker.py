"""The Dramatiq broker: built when a process asks for it, never on import.

Defaults that Dramatiq sets for general workloads are set here on purpose: a
full slot is an outcome, not an exception, so retries are few and fast; an idle
consumer polls every `dramatiq_worker_timeout` ms, not every second. An actor
reads its message (retries so far, request id) through `CurrentMessage`.

Messages are sent by task name (`send`), so a process that only sends (the web,
the scheduler) never imports an actor module.
"""

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from common.metrics_folder import folder
from common.redis_clients import sync_client
from common.settings import Settings
from workers.context import RequestContext
from workers.resources import CloseResources
from workers.startup import FreezeStartupObjects
from workers.stopping import EndParkedDrainer
from workers.tasks import Task

MAX_RETRIES = 5
MIN_BACKOFF_MS = 100
MAX_BACKOFF_MS = 10_000


def build_broker(settings: Settings) -> RedisBroker:
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=120_000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        CurrentMessage(),
        AsyncIO(),
        CloseResources(),
        EndParkedDrainer(),
        RequestContext(),
        FreezeStartupObjects(),
    ]
    if settings.worker_metrics:
        # Dramatiq's own series, served on dramatiq_prom_host:dramatiq_prom_port (0.0.0.0:9191)
        # and, kept in the platform's metrics folder, on the web's /metrics too.
        os.environ["dramatiq_prom_db"] = str(folder(settings))  # noqa: SIM112 - its name
        from dramatiq.middleware.prometheus import Prometheus  # reads dramatiq_prom_db

        middleware.append(Prometheus())
    return RedisBroker(
        client=sync_client(settings.redis_url, settings.redis_timeout_seconds),
        middleware=middleware,
        heartbeat_timeout=settings.dramatiq_heartbeat_timeout_ms,
        maintenance_chance=1000,
    )


def install(settings: Settings) -> RedisBroker:
    """Builds the broker and makes it Dramatiq's, before any actor is declared."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    return broker


def send(broker: dramatiq.Broker, task: Task, *args: object, request_id: str | None = None) -> None:
    """Queues a message for `task`; its request id travels with it (docs/architecture.md)."""
    options = {"request_id": request_id} if request_id else {}
    broker.enqueue(dramatiq.Message(task.queue, task.name, args, {}, options))
