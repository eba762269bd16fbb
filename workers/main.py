"""Entry point of worker processes: `python -m workers` (or `dramatiq workers.main`).

Importing the actor modules registers them with the broker.
"""

from actors import events, expiry, generation, holds, idempotency
from common.logging import configure_logging
from common.settings import get_settings
from workers.broker import broker

configure_logging(get_settings().log_level)

__all__ = ["broker", "events", "expiry", "generation", "holds", "idempotency"]
