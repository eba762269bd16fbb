"""A person's calendar feed, for staff to subscribe to from their calendar app.

`GET /admin/v1/people/{id}/calendar.ics` answers a staff token that may read the
catalog (and sees the person's location), or, since a calendar app cannot send a
header, `?token=` with the person's feed token. Admins and managers mint a feed
token (shown once, in the reply, as a ready URL; a new one revokes the old) and
revoke it. The token is kept only as a keyed hash (`common/link_tokens.py`);
access logs show paths without their query, so it is never logged.
"""

import datetime as dt
import uuid

from aiohttp import web
from pydantic import BaseModel, Field

from common import calendar_files, link_tokens
from db import audit, catalog, feeds
from domain.errors import ErrorCode
from domain.roles import Permission
from web.errors import ApiError
from web.middlewares import REQUEST_ID
from web.models import ErrorReply, Strict
from web.responses import Reply, TextReply
from web.routes.pages import public_base_url
from web.routing import Call, Route
from web.state import ENGINE, PII

PAST_DAYS = 30
AHEAD_DAYS = 366
MAX_TOKEN_CHARACTERS = 200


class FeedQuery(Strict):
    token: str | None = Field(default=None, max_length=MAX_TOKEN_CHARACTERS)


class FeedOut(BaseModel):
    person_id: str
    url: str = Field(description="The feed's address with its token, shown only in this reply")


class FeedReply(BaseModel):
    feed: FeedOut


def _person_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such person") from None


async def feed_token(request: web.Request) -> bool:
    """Whether the request carries a feed token; 404 unless it is the person's live one."""
    token = request.query.get("token")
    if token is None:
        return False
    try:
        person_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such feed") from None
    if len(token) > MAX_TOKEN_CHARACTERS:
        raise ApiError(ErrorCode.NOT_FOUND, "no such feed")
    digest = link_tokens.digest(request.app[PII], link_tokens.FEED, token)
    async with request.app[ENGINE].connect() as conn:
        if not await feeds.opens(conn, person_id, digest):
            raise ApiError(ErrorCode.NOT_FOUND, "no such feed")
    return True


async def person_calendar(call: Call) -> TextReply:
    """The person's held and confirmed bookings from a month back to a year ahead."""
    person_id = _person_id(call)
    now = dt.datetime.now(dt.UTC)
    async with call.request.app[ENGINE].connect() as conn:
        person = await feeds.person(conn, person_id)
        if person is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no such person")
        call.scope.require(person.location_id, "person")
        rows = await feeds.appointments(
            conn, person_id, now - dt.timedelta(days=PAST_DAYS), now + dt.timedelta(days=AHEAD_DAYS)
        )
    appointments = [
        calendar_files.Appointment(
            booking_id=str(r.id),
            start_at=r.start_at,
            end_at=r.end_at,
            status=r.status,
            location=r.location_name,
            summary=r.customer_name,
        )
        for r in rows
    ]
    text = calendar_files.feed(f"{person.name} · {person.location_name}", appointments)
    return TextReply(200, text, calendar_files.CONTENT_TYPE)


async def mint_feed(call: Call) -> Reply:
    person_id = _person_id(call)
    token = link_tokens.mint()
    digest = link_tokens.digest(call.request.app[PII], link_tokens.FEED, token)
    async with call.request.app[ENGINE].begin() as conn:
        location_id = await catalog.person_location(conn, person_id)
        if location_id is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no such person")
        call.scope.require(location_id, "person")
        await feeds.mint(conn, person_id, digest, call.subject)
        await audit.record(
            conn, call.subject, "feed.minted", "person", person_id, {}, call.request[REQUEST_ID]
        )
    base = public_base_url(call.request)
    url = f"{base}/admin/v1/people/{person_id}/calendar.ics?token={token}"
    return Reply(201, {"feed": {"person_id": str(person_id), "url": url}})


async def revoke_feed(call: Call) -> Reply:
    person_id = _person_id(call)
    async with call.request.app[ENGINE].begin() as conn:
        call.scope.require(await catalog.person_location(conn, person_id), "person")
        if not await feeds.revoke(conn, person_id):
            raise ApiError(ErrorCode.NOT_FOUND, "this person has no feed")
        await audit.record(
            conn, call.subject, "feed.revoked", "person", person_id, {}, call.request[REQUEST_ID]
        )
    return Reply(200, {"feed": {"person_id": str(person_id), "revoked": True}})


_FEED = "/admin/v1/people/{id}/calendar-feed"

ROUTES = [
    Route(
        "GET",
        "/admin/v1/people/{id}/calendar.ics",
        person_calendar,
        "A person's bookings as a calendar feed (staff token, or ?token= a feed token)",
        access=Permission.CATALOG_READ,
        credential=feed_token,
        query=FeedQuery,
        responses={200: None, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply},
        rate_limit="admin",
        tag="calendar",
    ),
    Route(
        "POST",
        _FEED,
        mint_feed,
        "Mint the person's feed token (shown once; the previous one stops working)",
        access=Permission.CATALOG_WRITE,
        responses={201: FeedReply, 404: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="calendar",
    ),
    Route(
        "DELETE",
        _FEED,
        revoke_feed,
        "Revoke the person's feed token",
        access=Permission.CATALOG_WRITE,
        responses={200: None, 404: ErrorReply},
        rate_limit="admin",
        tag="calendar",
    ),
]
