"""The jobs the scheduler process runs."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledJob:
    """A function to run every `interval_seconds` by exactly one scheduler process at a time.

    Jobs are quick (they mostly enqueue work for the workers), so the lease lasts one
    interval: a scheduler killed mid-run blocks the job for at most one tick.
    """

    name: str
    interval_seconds: float
    run: Callable[[], None]

    @property
    def lease_ms(self) -> int:
        return max(1, int(self.interval_seconds * 1000))
