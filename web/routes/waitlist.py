"""The waitlist (contract §10): visitors join and leave it; staff read a day's queue.

Joining writes the entry directly (nothing is decided about capacity: the offers
are made by whatever transaction frees a place, `db/waitlist.py`). The entry's
manage token is shown once, in the reply; only its hash is kept.
"""

import re
import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from common import link_tokens
from common.ids import new_id
from common.pii import PiiKeys
from db import catalog, waitlist
from domain.errors import ErrorCode
from domain.localdays import today
from domain.roles import Permission
from domain.timezones import zone
from domain.waitlist import CANCELLED, WAITING, Window
from web.errors import ApiError
from web.models import ErrorReply, ListQuery, Strict, SupportedDate
from web.pagination import decode_cursor, page
from web.responses import Reply
from web.routes.bookings import Customer, CustomerOut
from web.routing import Call, Link, Route
from web.state import ENGINE, PII

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(value: str | None) -> int | None:
    if value is None:
        return None
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


class WaitlistIn(Strict):
    location_id: uuid.UUID
    person_id: uuid.UUID | None = None
    date: SupportedDate
    customer: Customer
    from_time: str | None = Field(default=None, examples=["09:00"])
    to_time: str | None = Field(default=None, examples=["12:00"])

    @field_validator("from_time", "to_time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not _HHMM.match(value):
            raise ValueError("times are HH:MM, 00:00 to 24:00")
        return value

    @model_validator(mode="after")
    def _window(self) -> "WaitlistIn":
        if self.from_time == "24:00":
            raise ValueError("from_time must be before 24:00")
        start, end = _minutes(self.from_time), _minutes(self.to_time)
        if end == 0 or (start is not None and end is not None and end <= start):
            raise ValueError("to_time must be after from_time")
        return self


class WaitlistEntryOut(BaseModel):
    id: str
    status: str = Field(examples=[WAITING])
    position: int | None = Field(default=None, examples=[1])
    """Among the waiting entries of the same location, person and date; null once offered."""
    manage_token: str | None = None
    location_id: str
    person_id: str | None
    date: str
    from_time: str | None
    to_time: str | None
    customer: CustomerOut
    booking_id: str | None
    """The hold offered to this entry, once it is offered."""
    hold_expires_at: str | None
    created_at: str


class WaitlistEntryReply(BaseModel):
    waitlist_entry: WaitlistEntryOut


class WaitlistPage(BaseModel):
    items: list[WaitlistEntryOut]
    next_cursor: str | None


class WaitlistQuery(ListQuery):
    location_id: uuid.UUID
    date: SupportedDate


def _entry_json(row: Any, pii: PiiKeys) -> dict[str, Any]:
    tz = zone(row.timezone)
    return {
        "id": str(row.id),
        "status": row.status,
        "position": row.position,
        "location_id": str(row.location_id),
        "person_id": str(row.person_id) if row.person_id else None,
        "date": row.date.isoformat(),
        "from_time": _hhmm(row.from_minute),
        "to_time": _hhmm(row.to_minute),
        "customer": {
            "name": row.customer_name,
            "phone": pii.decrypt(row.customer_phone),
            "email": pii.decrypt(row.customer_email) if row.customer_email else None,
        },
        "booking_id": str(row.booking_id) if row.booking_id else None,
        "hold_expires_at": row.hold_expires_at.astimezone(tz).isoformat()
        if row.hold_expires_at
        else None,
        "created_at": row.created_at.astimezone(tz).isoformat(),
    }


async def join_waitlist(call: Call) -> Reply:
    body: WaitlistIn = call.body
    pii = call.request.app[PII]
    token = link_tokens.mint()
    async with call.request.app[ENGINE].begin() as conn:
        tz = zone(await catalog.location_zone(conn, body.location_id, body.person_id))
        if body.date < today(tz):
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                "date is in the past",
                {"fields": [{"field": "date", "message": "today or later where the location is"}]},
            )
        start, end = _minutes(body.from_time), _minutes(body.to_time)
        entry = waitlist.NewEntry(
            id=new_id(),
            location_id=body.location_id,
            person_id=body.person_id,
            date=body.date,
            from_minute=start,
            to_minute=end,
            window=Window.of(body.date, start, end, tz),
            user_id=call.subject,
            name=body.customer.name,
            phone=pii.encrypt(body.customer.phone),
            email=pii.encrypt(str(body.customer.email)) if body.customer.email else None,
            phone_hash=pii.lookup_hash(body.customer.phone),
            token=pii.encrypt(token),
            token_hash=link_tokens.digest(pii, link_tokens.MANAGE, token),
        )
        row = await waitlist.add(conn, entry)
    return Reply(201, {"waitlist_entry": {**_entry_json(row, pii), "manage_token": token}})


def _entry_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such waitlist entry") from None


async def get_waitlist_entry(call: Call) -> Reply:
    async with call.request.app[ENGINE].connect() as conn:
        row = await waitlist.find(conn, _entry_id(call), call.subject)
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such waitlist entry")
    return Reply(200, {"waitlist_entry": _entry_json(row, call.request.app[PII])})


async def leave_waitlist(call: Call) -> Reply:
    """A waiting entry leaves its queue; leaving twice answers the same. An offered entry
    is declined by cancelling its booking (the offer is a hold like any other)."""
    async with call.request.app[ENGINE].begin() as conn:
        row = await waitlist.leave(conn, _entry_id(call), call.subject)
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such waitlist entry")
    if row.status != CANCELLED:
        raise ApiError(
            ErrorCode.INVALID_STATE,
            f"a {row.status} entry cannot leave the waitlist; cancel its booking to decline"
            if row.booking_id
            else f"a {row.status} entry cannot leave the waitlist",
            {"status": row.status, "booking_id": str(row.booking_id) if row.booking_id else None},
        )
    return Reply(200, {"waitlist_entry": _entry_json(row, call.request.app[PII])})


BIGINT_MAX = 2**63 - 1
"""The largest arrival number Postgres's `bigint` holds."""


def _seq_part(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= BIGINT_MAX:
        raise ValueError("not a position")
    return value


async def list_waitlist(call: Call) -> Reply:
    """A day's entries of a location, every status, in arrival order."""
    query: WaitlistQuery = call.query
    call.scope.require(query.location_id, "location")
    after = decode_cursor(query.cursor, "waitlist", (_seq_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await waitlist.listed(conn, query.location_id, query.date, after, query.limit + 1)
    pii = call.request.app[PII]
    items = [{**_entry_json(r, pii), "seq": r.seq} for r in rows]
    found = page(items, query.limit, "waitlist", ["seq"])
    for item in found["items"]:
        del item["seq"]
    return Reply(200, found)


_ERRORS: dict[int, type[BaseModel] | None] = {404: ErrorReply, 409: ErrorReply}
_ENTRY_ID = {"id": "$response.body#/waitlist_entry/id"}

ROUTES = [
    Route(
        "POST",
        "/v1/waitlist",
        join_waitlist,
        "Wait for a place on a date; freed places are offered in arrival order",
        body=WaitlistIn,
        responses={201: WaitlistEntryReply, 404: ErrorReply},
        idempotent=True,
        rate_limit="booking_post",
        tag="waitlist",
        links={
            "GetWaitlistEntry": Link("get_waitlist_entry", _ENTRY_ID, "Follow your place"),
            "LeaveWaitlist": Link("leave_waitlist", _ENTRY_ID, "Leave the waitlist"),
        },
    ),
    Route(
        "GET",
        "/v1/waitlist/{id}",
        get_waitlist_entry,
        "Your waitlist entry: its place in the queue, or the hold offered to it",
        responses={200: WaitlistEntryReply, 404: ErrorReply},
        rate_limit="user_get",
        tag="waitlist",
    ),
    Route(
        "DELETE",
        "/v1/waitlist/{id}",
        leave_waitlist,
        "Leave the waitlist (a waiting entry)",
        responses={200: WaitlistEntryReply, **_ERRORS},
        rate_limit="booking_post",
        tag="waitlist",
        conflicts=(ErrorCode.INVALID_STATE,),
    ),
    Route(
        "GET",
        "/admin/v1/waitlist",
        list_waitlist,
        "A location's waitlist for a date, in arrival order",
        access=Permission.BOOKINGS_ADMIN,
        query=WaitlistQuery,
        responses={200: WaitlistPage},
        rate_limit="admin",
        tag="waitlist",
    ),
]
