"""The Dramatiq broker, configured once.

Every process that sends or runs messages imports this module before any actor
is declared. Defaults that Dramatiq sets for general workloads are set here on
purpose: a full slot is an outcome, not an exception, so retries are few and
fast; an idle consumer polls every `DRAMATIQ_WORKER_TIMEOUT_MS`, not every second.
An actor reads its message (retries so far, request id) through `CurrentMessage`.
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
from common.settings import Settings, get_settings
from workers.context import RequestContext
from workers.startup import FreezeStartupObjects

MAX_RETRIES = 5
MIN_BACKOFF_MS = 100
MAX_BACKOFF_MS = 10_000
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
"""Dramatiq's own default, for processes that import the broker without `REDIS_URL`."""


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
        client=sync_client(settings.redis_url or DEFAULT_REDIS_URL, settings.redis_timeout_seconds),
        middleware=middleware,
        heartbeat_timeout=settings.dramatiq_heartbeat_timeout_ms,
        maintenance_chance=1000,
    )


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
