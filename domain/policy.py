"""A location's booking policy (contract §10): how soon, how far ahead, and the buffer
kept around a person's bookings.

It applies to every hold (staff included), to exposure, dates, reschedules and
waitlist offers alike, so each of them asks this one definition.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MAX_NOTICE_MINUTES = 366 * 24 * 60
MAX_ADVANCE_DAYS = 5 * 366
MAX_BUFFER_MINUTES = 24 * 60
_LIMITS = {
    "min_notice_minutes": (0, MAX_NOTICE_MINUTES),
    "max_advance_days": (1, MAX_ADVANCE_DAYS),
    "buffer_minutes": (0, MAX_BUFFER_MINUTES),
}


class InvalidPolicy(ValueError):
    """A policy field out of its range; `field` is the contract's name for it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BookingPolicy:
    min_notice_minutes: int = 0
    """Slots starting sooner than this cannot be held (`TOO_LATE`)."""
    max_advance_days: int | None = None
    """Slots starting later than this many days ahead cannot be held (`TOO_EARLY`); None: any."""
    buffer_minutes: int = 0
    """A person's live booking also takes the person's slots starting or ending this close to it."""

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> "BookingPolicy":
        """Validates a policy as the API and the database hold it; omitted fields default."""
        unknown = sorted(set(values) - set(_LIMITS))
        if unknown:
            raise InvalidPolicy(unknown[0], f"unknown policy field {unknown[0]!r}")
        for name, value in values.items():
            low, high = _LIMITS[name]
            if value is None and name == "max_advance_days":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidPolicy(name, f"{name} must be a whole number from {low} to {high}")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def too_late(self, start_at: dt.datetime, now: dt.datetime) -> bool:
        return start_at < now + dt.timedelta(minutes=self.min_notice_minutes)

    def too_early(self, start_at: dt.datetime, now: dt.datetime) -> bool:
        if self.max_advance_days is None:
            return False
        return start_at > now + dt.timedelta(days=self.max_advance_days)
