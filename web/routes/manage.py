"""The customer's manage link (contract §9): one booking, no session, no account.

`/v1/manage/{token}` finds its booking by the token's keyed hash while the slot
has not ended: one lookup, which answers unknown, forged and expired links alike
(404). A change goes the way a visitor's does (`web/routes/bookings.py`: queued in
the lane of the booking, applied by the workers, answered with their outcome or
202), on behalf of the booking's owner, so it works after the visitor's session
has expired. A reschedule stays within the booking's location and person (else
409 `SLOT_UNAVAILABLE`, `details.reason` `other_scope`), is held to the location's
booking policy and not to exposure. Idempotency-Keys belong to the link, not to a
caller. Every request spends the client IP's `RATE_LIMIT_MANAGE` budget, and the
access log shows the path with the token redacted (`web/middlewares.py`).
"""

import uuid

from aiohttp import web
from pydantic import BaseModel

from common import calendar_files, link_tokens
from db import bookings, catalog
from domain.errors import ErrorCode
from domain.outcomes import BookingRecord
from web.errors import ApiError
from web.models import ErrorReply, Strict
from web.responses import Reply, TextReply
from web.routes.bookings import BookingReply, queue_change
from web.routing import Call, Route
from web.state import ENGINE, PII
from web.views import booking_json


class SlotChoice(Strict):
    slot_id: uuid.UUID


def _digest(request: web.Request) -> str:
    return link_tokens.digest(request.app[PII], link_tokens.MANAGE, request.match_info["token"])


def _link_subject(request: web.Request) -> str:
    """Idempotency-Keys sent through a link are the link's own."""
    return f"manage:{_digest(request)}"


async def _managed(call: Call) -> tuple[BookingRecord, str]:
    """The link's booking and its owner; 404 for any link that does not open one."""
    async with call.request.app[ENGINE].connect() as conn:
        found = await bookings.managed(conn, _digest(call.request))
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such booking, or its link has expired")
    return found


async def get_managed(call: Call) -> Reply:
    booking, _ = await _managed(call)
    return Reply(200, {"booking": booking_json(booking, call.request.app[PII])})


def _change(kind: str):
    async def handler(call: Call) -> Reply:
        booking, owner = await _managed(call)
        choice: SlotChoice | None = call.body
        return await queue_change(call, booking.id, kind, owner, choice.slot_id if choice else None)

    handler.__name__ = f"{kind}_managed"
    return handler


async def managed_calendar(call: Call) -> TextReply:
    """The booking as a calendar file: one VEVENT, UID the booking id, times in UTC."""
    booking, _ = await _managed(call)
    async with call.request.app[ENGINE].connect() as conn:
        location = await catalog.location_name(conn, booking.location_id) or ""
    appointment = calendar_files.Appointment(
        booking_id=booking.id,
        start_at=booking.start_at,
        end_at=booking.end_at,
        status=booking.status,
        location=location,
        summary=f"Appointment at {location}",
    )
    headers = {"Content-Disposition": 'attachment; filename="booking.ics"'}
    return TextReply(
        200, calendar_files.booking_file(appointment), calendar_files.CONTENT_TYPE, headers
    )


_ERRORS: dict[int, type[BaseModel] | None] = {404: ErrorReply, 409: ErrorReply}


def _post(action: str, summary: str, conflicts: tuple[ErrorCode, ...], body=None) -> Route:
    return Route(
        "POST",
        f"/v1/manage/{{token}}/{action}",
        _change(action),
        summary,
        access="public",
        body=body,
        responses={200: BookingReply, 202: BookingReply, **_ERRORS},
        idempotent=True,
        replies_persisted_by_handler=True,
        rate_limit="manage",
        tag="manage",
        conflicts=conflicts,
        public_subject=_link_subject,
    )


ROUTES = [
    Route(
        "GET",
        "/v1/manage/{token}",
        get_managed,
        "The booking a manage link opens (no token needed: the link is the key)",
        access="public",
        responses={200: BookingReply, 404: ErrorReply},
        rate_limit="manage",
        tag="manage",
    ),
    _post(
        "confirm",
        "Confirm the held booking through its manage link",
        (ErrorCode.HOLD_EXPIRED, ErrorCode.INVALID_STATE),
    ),
    _post("cancel", "Cancel the booking through its manage link", (ErrorCode.INVALID_STATE,)),
    _post(
        "reschedule",
        "Move the booking to another slot of the same location and person",
        (ErrorCode.SLOT_FULL, ErrorCode.SLOT_UNAVAILABLE, ErrorCode.INVALID_STATE),
        body=SlotChoice,
    ),
    Route(
        "GET",
        "/v1/manage/{token}/ics",
        managed_calendar,
        "The booking as a calendar file (RFC 5545, times in UTC)",
        access="public",
        responses={200: None, 404: ErrorReply},
        rate_limit="manage",
        tag="manage",
    ),
]
