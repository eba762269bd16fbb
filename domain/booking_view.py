"""The contract's booking object, rendered from a row joined with its slot."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from common.pii import PiiKeys
from domain.timezones import zone

BOOKING_COLUMNS = (
    "b.id, b.slot_id, b.location_id, b.person_id, b.user_id, b.status, b.customer_name,"
    " b.customer_phone, b.customer_email, b.notes, b.hold_expires_at, b.created_at,"
    " b.confirmed_at, b.cancelled_at, s.start_at, s.end_at, l.timezone"
)
"""Select list for `bookings b JOIN slot_instances s ... JOIN locations l ...`."""


def _instant(value: dt.datetime | None, tz: str) -> str | None:
    return value.astimezone(zone(tz)).isoformat() if value is not None else None


def booking_json(row: Mapping[str, Any], pii: PiiKeys, timezone: str | None = None) -> dict:
    """Renders instants in `timezone`, else the location's; decrypts the customer's contact."""
    tz = timezone or row["timezone"]
    email = row["customer_email"]
    return {
        "id": str(row["id"]),
        "slot_id": str(row["slot_id"]),
        "location_id": str(row["location_id"]),
        "person_id": str(row["person_id"]) if row["person_id"] else None,
        "status": row["status"],
        "start_at": _instant(row["start_at"], tz),
        "end_at": _instant(row["end_at"], tz),
        "customer": {
            "name": row["customer_name"],
            "phone": pii.decrypt(row["customer_phone"]),
            "email": pii.decrypt(email) if email else None,
        },
        "notes": row["notes"],
        "hold_expires_at": _instant(row["hold_expires_at"], tz),
        "created_at": _instant(row["created_at"], tz),
        "confirmed_at": _instant(row["confirmed_at"], tz),
        "cancelled_at": _instant(row["cancelled_at"], tz),
    }
