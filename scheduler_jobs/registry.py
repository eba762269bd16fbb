"""The jobs the scheduler process runs."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledJob:
    """A function to run every `interval_seconds` by exactly one scheduler process at a time."""

    name: str
    interval_seconds: float
    run: Callable[[], None]
    lease_ms: int = 60_000
