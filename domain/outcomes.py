"""What the booking engine decided about a command: a booking, or a refusal.

Outcomes are data, not replies: the workers decide, the web renders (it alone
decrypts the customer's contact details and knows HTTP). An outcome is stored
under the request's Idempotency-Key and rendered again on every replay, so a
replay answers what the first request was answered.
"""

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from domain.errors import ErrorCode, Refused

_INSTANTS = ("start_at", "end_at", "hold_expires_at", "created_at", "confirmed_at", "cancelled_at")


@dataclass(frozen=True)
class BookingRecord:
    """A booking as stored, with its slot's times and zone; contact details encrypted."""

    id: str
    slot_id: str
    location_id: str
    person_id: str | None
    status: str
    start_at: dt.datetime
    end_at: dt.datetime
    timezone: str
    customer_name: str
    customer_phone: str
    customer_email: str | None
    notes: str | None
    hold_expires_at: dt.datetime | None
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    manage_token: str | None = None
    """Sealed; only in outcomes for the customer (a hold, their own changes), never staff's."""

    def to_json(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _INSTANTS:
            if values[name] is not None:
                values[name] = values[name].isoformat()
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "BookingRecord":
        parsed = dict(values)
        for name in _INSTANTS:
            if parsed[name] is not None:
                parsed[name] = dt.datetime.fromisoformat(parsed[name])
        return cls(**parsed)


@dataclass(frozen=True)
class Outcome:
    booking: BookingRecord | None = None
    code: ErrorCode | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    created: bool = False
    """A new hold, rather than a change to an existing booking."""
    request_id: str | None = None

    @classmethod
    def refused(cls, error: Refused, request_id: str | None) -> "Outcome":
        return cls(
            code=error.code, message=error.message, details=error.details, request_id=request_id
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "booking": self.booking.to_json() if self.booking else None,
            "code": self.code.value if self.code else None,
            "message": self.message,
            "details": self.details,
            "created": self.created,
            "request_id": self.request_id,
        }

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "Outcome":
        booking = values["booking"]
        return cls(
            booking=BookingRecord.from_json(booking) if booking else None,
            code=ErrorCode(values["code"]) if values["code"] else None,
            message=values["message"],
            details=values["details"],
            created=values["created"],
            request_id=values["request_id"],
        )
