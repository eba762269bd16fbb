"""Bookings: visitors hold, confirm, cancel and read their own; staff cancel and reschedule.

The web never writes bookings. It validates, encrypts the customer's contact
details, queues a command in the lane of the booking's slot (a change goes to the
lane of its booking's hold, so the workers apply it after the hold) and waits up
to `BOOKING_WAIT_SECONDS` for its outcome; past that it answers 202 and the
client polls the booking. The workers store every outcome under the request's
Idempotency-Key, replacing a 202.
"""

import asyncio
import unicodedata
import uuid
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field, field_validator

from common import keys, link_tokens
from common.ids import new_id
from common.templates import LOCALES
from db import bookings
from db.availability import slot_alone, slot_location
from domain.commands import Change, Command, HoldCommand
from domain.errors import ErrorCode
from domain.outcomes import Outcome
from domain.phones import normalize_phone
from domain.roles import Permission, is_staff
from web.errors import ApiError, error_body
from web.idempotency import Foreseen
from web.middlewares import REQUEST_ID
from web.models import Day, ErrorReply, ListQuery, Strict
from web.pagination import decode_cursor, encode_cursor, instant_part, uuid_part
from web.responses import Reply
from web.routing import IDEMPOTENCY_CLAIM, Call, Link, Route
from web.state import BROKER, ENGINE, OUTCOMES, PII, REDIS, SETTINGS, SHARED_REDIS
from web.views import booking_json, outcome_reply
from workers import lanes
from workers.broker import send
from workers.outcomes import within
from workers.tasks import DRAIN_LANES

LANES = web.AppKey("lanes", dict)
"""Slot id -> the lookup of its lane, per process; a slot's person never changes."""
LANE_CACHE_SIZE = 100_000


class Customer(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Layla Haddad"])
    phone: str = Field(min_length=3, max_length=40, examples=["+971501234567"])
    email: EmailStr | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        if any(unicodedata.category(c) == "Cc" for c in value):  # it goes into SMS and email
            raise ValueError("name must not contain control characters")
        return value.strip()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class BookingIn(Strict):
    slot_id: uuid.UUID
    customer: Customer
    notes: str | None = Field(default=None, max_length=2000)


class AdminChange(Strict):
    action: Literal["cancel", "reschedule"]
    slot_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, max_length=500)
    notify: bool = True


class CustomerOut(BaseModel):
    name: str = Field(examples=["Layla Haddad"])
    phone: str
    email: str | None


class BookingOut(BaseModel):
    id: str
    slot_id: str | None = None
    location_id: str | None = None
    person_id: str | None = None
    status: str = Field(examples=["held"])
    start_at: str | None = None
    end_at: str | None = None
    customer: CustomerOut | None = None
    notes: str | None = None
    hold_expires_at: str | None = None
    created_at: str | None = None
    confirmed_at: str | None = None
    cancelled_at: str | None = None
    manage_token: str | None = Field(
        default=None, description="The customer's manage link token (their own replies only)"
    )


class BookingReply(BaseModel):
    booking: BookingOut


async def _lane(call: Call, slot_id: uuid.UUID) -> str:
    """The slot's lane, looked up once per process however many requests ask at once."""
    lanes = call.request.app[LANES]
    lookup = lanes.get(slot_id)
    if lookup is None:
        if len(lanes) >= LANE_CACHE_SIZE:
            lanes.clear()
        lookup = lanes[slot_id] = asyncio.ensure_future(_first_look(call.request.app, slot_id))
    try:
        return await asyncio.shield(lookup)
    except Exception:  # a failed lookup (no such slot, Postgres down) is not remembered
        lanes.pop(slot_id, None)
        raise


async def _first_look(app: web.Application, slot_id: uuid.UUID) -> str:
    """The slot's lane, and its admission count if Redis has none."""
    async with app[ENGINE].connect() as conn:
        slot = await slot_alone(conn, slot_id)
    if slot is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such slot")
    count = lanes.first_count(str(slot_id), slot.left, slot.first_lapse_ms)
    if not slot.closed and count is not None:
        await app[SHARED_REDIS].execute(*count)
    return lanes.lane_for(slot.person_id, slot_id)


def _pending(booking_id: str) -> Reply:
    return Reply(
        202,
        {"booking": {"id": booking_id, "status": "pending"}},
        {"Location": f"/v1/bookings/{booking_id}"},
    )


def _visitor(call: Call) -> bool:
    assert call.identity is not None
    return not is_staff(call.identity.roles)


def _refusal(call: Call, code: ErrorCode, message: str) -> Reply:
    return Reply(409, error_body(ApiError(code, message), call.request[REQUEST_ID]))


async def full_slot(call: Call) -> Foreseen:
    """Refuses at once while the slot's admission count says nothing is left, or, when
    exposure is enforced, a visitor asks for a slot `GET /v1/slots` did not offer them.

    Asked before every hold (each has a key), so it is also where a caller limited to
    some locations is refused another location's slot.
    """
    body: BookingIn = call.body
    await _require_slot_in_scope(call, body.slot_id)
    await _lane(call, body.slot_id)
    full = _refusal(call, ErrorCode.SLOT_FULL, "no capacity left in this slot")
    if not (call.request.app[SETTINGS].exposure_enforced and _visitor(call)):
        return Foreseen(str(body.slot_id), full)
    not_offered = _refusal(
        call,
        ErrorCode.SLOT_NOT_OFFERED,
        "hold a slot GET /v1/slots showed you (offers last EXPOSURE_CACHE_TTL_SECONDS)",
    )
    return Foreseen(str(body.slot_id), full, call.subject, not_offered)


async def _require_slot_in_scope(call: Call, slot_id: uuid.UUID) -> None:
    """A caller limited to some locations acts on their slots only (404 for another's).

    Asked only for such callers; a slot never changes location, so the web can tell.
    """
    if not call.scope.limited:
        return
    async with call.request.app[ENGINE].connect() as conn:
        location_id = await slot_location(conn, slot_id)
    if location_id is not None:
        call.scope.require(location_id, "slot")


async def create_booking(call: Call) -> Reply:
    body: BookingIn = call.body
    app = call.request.app
    lane = await _lane(call, body.slot_id)
    pii = app[PII]
    key, digest = call.request[IDEMPOTENCY_CLAIM]
    manage_token = link_tokens.mint()
    command = HoldCommand(
        command_id=str(new_id()),
        booking_id=str(new_id()),
        slot_id=str(body.slot_id),
        subject=call.subject,
        key=key,
        digest=digest,
        name=body.customer.name,
        phone=pii.encrypt(body.customer.phone),
        email=pii.encrypt(str(body.customer.email)) if body.customer.email else None,
        phone_hash=pii.lookup_hash(body.customer.phone),
        notes=body.notes,
        request_id=call.request[REQUEST_ID],
        reply_to=app[OUTCOMES].name,
        staff=not _visitor(call),
        manage_token=pii.encrypt(manage_token),
        manage_hash=link_tokens.digest(pii, link_tokens.MANAGE, manage_token),
        locale=_locale(call.request),
    )
    ttl = app[SETTINGS].idempotency_ttl_seconds
    mark = lanes.mark_pending(command.booking_id, call.subject, lane, ttl)
    return await _queue(app, lane, command, mark)


def _locale(request: web.Request) -> str | None:
    """The customer's language for notifications: the first of `Accept-Language` we write in."""
    for part in request.headers.get("Accept-Language", "").split(","):
        language = part.split(";")[0].strip().split("-")[0].lower()
        if language in LOCALES:
            return language
    return None


async def _queue(
    app: web.Application, lane: str, command: Command, *first: tuple[Any, ...]
) -> Reply:
    """Appends a command to its lane, with `first` in the same round trip, and answers
    its outcome, or 202 when `BOOKING_WAIT_SECONDS` passed first."""
    with app[OUTCOMES].expecting(command.command_id) as answer:
        *_, woken = await app[SHARED_REDIS].execute_many(*first, *lanes.append(lane, command))
        if woken:
            send(app[BROKER], DRAIN_LANES, request_id=command.request_id)
        outcome = await within(answer, app[SETTINGS].booking_wait_seconds)
    if outcome is None:
        return _pending(command.booking_id)
    reply = outcome_reply(outcome, app[PII])
    reply.recorded = True
    return reply


def _booking_id(call: Call) -> str:
    try:
        return str(uuid.UUID(call.request.match_info["id"]))
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such booking") from None


async def get_booking(call: Call) -> Reply:
    booking_id = _booking_id(call)
    app = call.request.app
    # The pending mark is read before Postgres: the worker commits the booking, then
    # drops the mark, so one of the two reads sees it (read after, both could miss it).
    mark = lanes.pending(await app[REDIS].get(keys.pending(booking_id)))
    async with app[ENGINE].connect() as conn:
        booking = await bookings.owned(conn, booking_id, call.subject)
    if booking is not None:
        return Reply(200, {"booking": booking_json(booking, app[PII])})
    refused = lanes.refused_hold(await app[REDIS].get(keys.outcome(booking_id)), call.subject)
    if refused is not None:
        return outcome_reply(Outcome.from_json(refused), app[PII])
    if mark is not None and mark.owner == call.subject:
        return Reply(200, {"booking": {"id": booking_id, "status": "pending"}})
    raise ApiError(ErrorCode.NOT_FOUND, "no such booking")


async def _booking_lane(app: web.Application, booking_id: str, owner: str | None) -> str:
    """The lane of the booking's hold, so that a change queued there is applied after it.

    A hold still queued has its lane in its pending mark, an applied one is in
    Postgres. Redis is asked first: the worker commits a booking before it drops its
    mark, so a booking that exists is always found in one or the other.
    """
    mark = lanes.pending(await app[REDIS].get(keys.pending(booking_id)))
    found: tuple[str, str] | None
    if mark is not None:
        found = (mark.owner, mark.lane)
    else:
        async with app[ENGINE].connect() as conn:
            found = await bookings.lane_of(conn, booking_id)
    if found is None or (owner is not None and found[0] != owner):
        raise ApiError(ErrorCode.NOT_FOUND, "no such booking")
    return found[1]


async def queue_change(
    call: Call,
    booking_id: str,
    kind: str,
    owner: str | None,
    slot_id: uuid.UUID | None = None,
    reason: str | None = None,
    notify: bool = True,
) -> Reply:
    """Queues a change in the lane of the booking's hold and answers its outcome (or 202).

    `owner` is set when a customer asks (a visitor, or a manage link): their own only.
    """
    app = call.request.app
    lane = await _booking_lane(app, booking_id, owner)
    key, digest = call.request[IDEMPOTENCY_CLAIM]
    change = Change(
        command_id=str(new_id()),
        kind=kind,
        booking_id=booking_id,
        owner=owner,
        subject=call.subject,
        key=key,
        digest=digest,
        reply_to=app[OUTCOMES].name,
        slot_id=str(slot_id) if slot_id else None,
        reason=reason,
        notify=notify,
        request_id=call.request[REQUEST_ID],
        location_ids=call.scope.as_list(),
    )
    return await _queue(app, lane, change)


def _visitor_change(kind: str) -> Any:
    async def handler(call: Call) -> Reply:
        return await queue_change(call, _booking_id(call), kind, owner=call.subject)

    handler.__name__ = f"{kind}_booking"
    return handler


async def _require_booking_in_scope(call: Call, booking_id: str) -> None:
    """A caller limited to some locations changes their bookings only (404 for another's).

    A hold still queued is not in Postgres yet: the worker checks it, as it checks
    every change again in the transaction that applies it.
    """
    if not call.scope.limited:
        return
    async with call.request.app[ENGINE].connect() as conn:
        location_id = await bookings.location_of(conn, booking_id)
    if location_id is not None:
        call.scope.require(location_id, "booking")


async def change_booking_as_staff(call: Call) -> Reply:
    body: AdminChange = call.body
    if body.action == "reschedule" and body.slot_id is None:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "reschedule needs slot_id",
            {"fields": [{"field": "slot_id", "message": "required for reschedule"}]},
        )
    await _require_booking_in_scope(call, _booking_id(call))
    if body.slot_id is not None:
        await _require_slot_in_scope(call, body.slot_id)
    return await queue_change(
        call, _booking_id(call), body.action, None, body.slot_id, body.reason, body.notify
    )


class AdminBookingsQuery(ListQuery):
    location_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    status: Literal["held", "confirmed", "cancelled", "expired"] | None = None
    first: Day | None = Field(default=None, alias="from")
    last: Day | None = Field(default=None, alias="to")
    phone: str | None = Field(default=None, max_length=40)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value) if value is not None else None


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_cursor: str | None


async def list_bookings(call: Call) -> Reply:
    """Newest slot first; `from`/`to` bound the slot's start by UTC date, both inclusive."""
    query: AdminBookingsQuery = call.query
    if query.location_id is not None:
        call.scope.require(query.location_id, "location")
    after = None
    if query.cursor:
        after_start, after_id = decode_cursor(query.cursor, "bookings", (instant_part, uuid_part))
        after = (after_start, after_id)
    pii = call.request.app[PII]
    where = bookings.Filter(
        location_id=query.location_id,
        person_id=query.person_id,
        status=query.status,
        phone_hash=pii.lookup_hash(query.phone) if query.phone else None,
        first=query.first,
        last=query.last,
        scope=call.scope,
    )
    async with call.request.app[ENGINE].connect() as conn:
        found = await bookings.newest_first(conn, where, after, query.limit + 1)
    items = [booking_json(b, pii) for b in found[: query.limit]]
    more = len(found) > query.limit
    cursor = encode_cursor("bookings", [items[-1]["start_at"], items[-1]["id"]]) if more else None
    return Reply(200, {"items": items, "next_cursor": cursor})


_ERRORS: dict[int, type[BaseModel] | None] = {404: ErrorReply, 409: ErrorReply}
_REFUSED_HOLD = (
    ErrorCode.SLOT_FULL,
    ErrorCode.SLOT_UNAVAILABLE,
    ErrorCode.DUPLICATE_BOOKING,
    ErrorCode.SLOT_NOT_OFFERED,
    ErrorCode.TOO_MANY_HOLDS,
    ErrorCode.TOO_LATE,
    ErrorCode.TOO_EARLY,
)
_BOOKING_ID = {"id": "$response.body#/booking/id"}
_FOLLOW_BOOKING = {
    "GetBooking": Link("get_booking", _BOOKING_ID, "Read the booking (and poll a 202)"),
    "ConfirmBooking": Link("confirm_booking", _BOOKING_ID, "Confirm the hold before it expires"),
    "CancelBooking": Link("cancel_booking", _BOOKING_ID, "Release the hold or cancel"),
}

ROUTES = [
    Route(
        "POST",
        "/v1/bookings",
        create_booking,
        "Hold a slot (202 with Location when the worker is slow)",
        body=BookingIn,
        responses={201: BookingReply, 202: BookingReply, **_ERRORS},
        idempotent=True,
        replies_persisted_by_handler=True,
        foreseen=full_slot,
        rate_limit="booking_post",
        tag="bookings",
        conflicts=_REFUSED_HOLD,
        links=_FOLLOW_BOOKING,
    ),
    Route(
        "GET",
        "/v1/bookings/{id}",
        get_booking,
        "Your booking (a refused hold answers with its 409)",
        responses={200: BookingReply, **_ERRORS},
        rate_limit="user_get",
        tag="bookings",
        conflicts=_REFUSED_HOLD,
    ),
    Route(
        "POST",
        "/v1/bookings/{id}/confirm",
        _visitor_change("confirm"),
        "Confirm your held booking",
        responses={200: BookingReply, 202: BookingReply, **_ERRORS},
        idempotent=True,
        replies_persisted_by_handler=True,
        rate_limit="booking_post",
        tag="bookings",
        conflicts=(ErrorCode.HOLD_EXPIRED, ErrorCode.INVALID_STATE),
        links={"GetBooking": _FOLLOW_BOOKING["GetBooking"]},
    ),
    Route(
        "POST",
        "/v1/bookings/{id}/cancel",
        _visitor_change("cancel"),
        "Cancel your booking; its capacity is free at once",
        responses={200: BookingReply, 202: BookingReply, **_ERRORS},
        idempotent=True,
        replies_persisted_by_handler=True,
        rate_limit="booking_post",
        tag="bookings",
        conflicts=(ErrorCode.INVALID_STATE,),
        links={"GetBooking": _FOLLOW_BOOKING["GetBooking"]},
    ),
    Route(
        "GET",
        "/admin/v1/bookings",
        list_bookings,
        "Bookings, newest slot first; from/to bound the slot start (UTC dates, inclusive)",
        access=Permission.BOOKINGS_ADMIN,
        query=AdminBookingsQuery,
        responses={200: BookingPage},
        rate_limit="admin",
        tag="bookings",
    ),
    Route(
        "PATCH",
        "/admin/v1/bookings/{id}",
        change_booking_as_staff,
        "Cancel or reschedule a booking",
        access=Permission.BOOKINGS_ADMIN,
        body=AdminChange,
        responses={200: BookingReply, 202: BookingReply, **_ERRORS},
        idempotent=True,
        replies_persisted_by_handler=True,
        rate_limit="admin",
        tag="bookings",
        conflicts=(
            ErrorCode.SLOT_FULL,
            ErrorCode.SLOT_UNAVAILABLE,
            ErrorCode.TOO_LATE,
            ErrorCode.TOO_EARLY,
            ErrorCode.INVALID_STATE,
        ),
    ),
]
