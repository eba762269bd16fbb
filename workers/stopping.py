"""Telling the parked drainer that its worker stops, so a shutdown never waits for it.

The drainer parks on a blocking read between batches (`workers/lanes.py`), and
Dramatiq stops a worker by waiting for the messages it is running.
"""

import contextlib
import threading

import redis
from dramatiq import Middleware

from common import keys

STOPPING = threading.Event()


class EndParkedDrainer(Middleware):
    def before_worker_boot(self, broker, worker):
        STOPPING.clear()

    def before_worker_shutdown(self, broker, worker):
        STOPPING.set()
        # Failing that, the drainer ends at its next turn, within PARK_SECONDS.
        with contextlib.suppress(redis.RedisError):
            broker.client.lpush(keys.LANES_SIGNAL, "stop")
