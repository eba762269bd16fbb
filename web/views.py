"""The contract's booking object and the replies that carry engine outcomes.

Only the web renders: it decrypts the customer's contact details and turns an
outcome of the workers (`domain.outcomes.Outcome`) into an HTTP reply, the first
time and on every replay alike.
"""

import datetime as dt
from typing import Any

from common.pii import PiiKeys
from domain.outcomes import BookingRecord, Outcome
from domain.timezones import zone
from web.errors import STATUS, envelope
from web.responses import Reply


def _instant(value: dt.datetime | None, tz: str) -> str | None:
    return value.astimezone(zone(tz)).isoformat() if value is not None else None


def booking_json(booking: BookingRecord, pii: PiiKeys, timezone: str | None = None) -> dict:
    """Renders instants in `timezone`, else the location's; decrypts the customer's contact
    and, in the customer's own replies, the booking's manage token (contract §9)."""
    tz = timezone or booking.timezone
    email = booking.customer_email
    rendered = {
        "id": booking.id,
        "slot_id": booking.slot_id,
        "location_id": booking.location_id,
        "person_id": booking.person_id,
        "status": booking.status,
        "start_at": _instant(booking.start_at, tz),
        "end_at": _instant(booking.end_at, tz),
        "customer": {
            "name": booking.customer_name,
            "phone": pii.decrypt(booking.customer_phone),
            "email": pii.decrypt(email) if email else None,
        },
        "notes": booking.notes,
        "hold_expires_at": _instant(booking.hold_expires_at, tz),
        "created_at": _instant(booking.created_at, tz),
        "confirmed_at": _instant(booking.confirmed_at, tz),
        "cancelled_at": _instant(booking.cancelled_at, tz),
    }
    if booking.manage_token is not None:
        rendered["manage_token"] = pii.decrypt(booking.manage_token)
    return rendered


def outcome_reply(outcome: Outcome, pii: PiiKeys) -> Reply:
    """A new hold answers 201, a change 200, a refusal its code's status."""
    if outcome.booking is not None:
        body: dict[str, Any] = {"booking": booking_json(outcome.booking, pii)}
        return Reply(201 if outcome.created else 200, body)
    assert outcome.code is not None
    error = envelope(outcome.code, outcome.message, outcome.details, outcome.request_id)
    return Reply(STATUS[outcome.code], error)
