"""Keeps the collector away from what a worker process built before its first message."""

import gc

from dramatiq import Middleware


class FreezeStartupObjects(Middleware):
    """Freezes what boot built: modules and connections that live as long as the process.

    A full collection walks every live object, and its pause holds up every batch
    on the event loop; frozen objects are not walked.
    """

    def after_worker_boot(self, broker, worker):
        gc.collect()
        gc.freeze()
