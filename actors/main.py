"""Entry point of worker processes: `python -m actors` (or `dramatiq actors.main`).

Builds the broker from the settings, then imports the actor modules, which
declare their actors on it.
"""

from common.logging import configure_logging
from common.settings import get_settings
from workers.broker import install

settings = get_settings()
configure_logging(settings.log_level)
broker = install(settings)

from actors import (  # noqa: E402 - after install
    events,
    expiry,
    generation,
    holds,
    idempotency,
    reminders,
    webhooks,
)

__all__ = [
    "broker",
    "events",
    "expiry",
    "generation",
    "holds",
    "idempotency",
    "reminders",
    "webhooks",
]
