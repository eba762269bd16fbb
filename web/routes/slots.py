"""Reading availability: exposed slots and dates for visitors, every slot for staff.

All three read `db.availability`, the single definition of what is available.
"""

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from common import keys
from common.metrics import BOOKING_FUNNEL, EXPOSED_SLOTS
from common.settings import ExposureVariant, Settings
from db import availability, catalog
from db.availability import DateAvailability, SlotAvailability
from domain import exposure
from domain.errors import ErrorCode
from domain.exposure import Candidate
from domain.localdays import day_bounds, today
from domain.roles import Permission, is_staff
from domain.timezones import is_iana_zone, zone
from web.availability_cache import AVAILABILITY_CACHE
from web.errors import ApiError
from web.models import Strict, SupportedDate
from web.responses import Reply
from web.routing import Call, Route
from web.shared_redis import Script
from web.state import ENGINE, SETTINGS, SHARED_REDIS

MAX_DATE_SPAN_DAYS = 90
DEFAULT_DATE_SPAN_DAYS = 30
DEFAULT_VARIANT = "control"
VARIANT_HEADER = "X-Exposure-Variant"


def _iana(value: str | None) -> str | None:
    if value is not None and not is_iana_zone(value):
        raise ValueError("timezone must be an IANA time zone name, e.g. Asia/Dubai")
    return value


class SlotsQuery(Strict):
    location_id: uuid.UUID
    date: SupportedDate | None = None
    person_id: uuid.UUID | None = None
    timezone: str | None = None

    _zone = field_validator("timezone")(_iana)


class DatesQuery(Strict):
    location_id: uuid.UUID
    person_id: uuid.UUID | None = None
    from_: SupportedDate | None = Field(default=None, alias="from")
    to: SupportedDate | None = None
    timezone: str | None = None

    _zone = field_validator("timezone")(_iana)


class SlotOut(BaseModel):
    id: str
    location_id: str
    person_id: str | None
    start_at: str
    end_at: str
    remaining: int


class SlotsReply(BaseModel):
    date: str
    timezone: str
    variant: str
    slots: list[SlotOut]
    total_available: int
    has_more: bool


class DateOut(BaseModel):
    date: str
    available: int


class DatesReply(BaseModel):
    timezone: str
    dates: list[DateOut]


class StaffSlotOut(SlotOut):
    capacity: int
    booked: int
    held: int
    status: str


class StaffSlotsReply(BaseModel):
    items: list[StaffSlotOut]


async def _effective_zone(
    conn: AsyncConnection,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
    requested: str | None,
) -> str:
    """The zone to count dates and render instants in; 404 for an unknown location or person."""
    location_zone = await catalog.location_zone(conn, location_id, person_id)
    return requested or location_zone


def _later() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


async def _cached_place(call: Call, query: "SlotsQuery | DatesQuery") -> catalog.Place:
    """The location's zone and whether it (and the person asked for) is active; dropped
    like availability when the location or its people change."""
    app = call.request.app

    async def compute() -> tuple[catalog.Place, dt.datetime]:
        async with app[ENGINE].connect() as conn:
            place = await catalog.place(conn, query.location_id, query.person_id)
        return place, _later()

    key = ("zone", query.person_id)
    return await app[AVAILABILITY_CACHE].get(str(query.location_id), key, compute)


async def _cached_zone(call: Call, query: "SlotsQuery | DatesQuery") -> str:
    return query.timezone or (await _cached_place(call, query)).timezone


async def _cached_eligible(
    call: Call, query: SlotsQuery, start: dt.datetime, end: dt.datetime
) -> dict[str, SlotAvailability]:
    """The window's eligible slots by id, in start order.

    Cached until a change, a hold lapsing or a slot starting; shared, so never mutated.
    """
    app = call.request.app

    async def compute() -> tuple[dict[str, SlotAvailability], dt.datetime]:
        async with app[ENGINE].connect() as conn:
            slots = await availability.day_slots(
                conn, query.location_id, query.person_id, start, end, only_eligible=True
            )
            lapse = await availability.next_hold_expiry(conn, query.location_id)
        moments = [s.start_at for s in slots[:1]] + ([lapse] if lapse else [])
        return {str(s.id): s for s in slots}, min(moments, default=_later())

    key = ("eligible", query.person_id, start, end)
    return await app[AVAILABILITY_CACHE].get(str(query.location_id), key, compute)


def _slot_json(slot: SlotAvailability, zone_name: str) -> dict[str, Any]:
    tz = zone(zone_name)
    return {
        "id": str(slot.id),
        "location_id": str(slot.location_id),
        "person_id": str(slot.person_id) if slot.person_id else None,
        "start_at": slot.start_at.astimezone(tz).isoformat(),
        "end_at": slot.end_at.astimezone(tz).isoformat(),
        "remaining": slot.remaining,
    }


def _variant(settings: Settings, requested: str | None) -> tuple[str, ExposureVariant]:
    variants = settings.exposure_variants
    if requested in variants:
        return requested, variants[requested]
    if DEFAULT_VARIANT in variants:
        return DEFAULT_VARIANT, variants[DEFAULT_VARIANT]
    return DEFAULT_VARIANT, ExposureVariant()


def _remembered(cached: str | None, zone_name: str) -> list[str]:
    """The ids of a remembered sample; none if it was shown in another zone."""
    if cached is None:
        return []
    entry = json.loads(cached)
    return entry["ids"] if entry.get("zone") == zone_name else []


def _candidates(eligible: Iterable[SlotAvailability], zone_name: str) -> list[Candidate]:
    tz = zone(zone_name)
    return [Candidate(str(s.id), s.start_at.astimezone(tz)) for s in eligible]


# A visitor may hold only what it was offered (contract §10): the slots of its samples,
# each offered until the cache TTL after the sample was last shown. KEYS: the remembered
# sample, the visitor's offered slots ('' when offers are not kept). ARGV: now (Unix ms),
# the TTL (ms). Returns the sample, renewing the offer of each of its slots (a slot taken
# meanwhile, not shown now, is renewed too: shown again if it frees, it may be held) and
# dropping the offers that ended, in the one call that reads it.
_RECALL = Script(
    """
local sample = redis.call('GET', KEYS[1])
if sample and KEYS[2] ~= '' then
  local ids = cjson.decode(sample)['ids']
  if #ids > 0 then
    local until_ms = tonumber(ARGV[1]) + tonumber(ARGV[2])
    local scored = {}
    for _, id in ipairs(ids) do
      scored[#scored + 1] = until_ms
      scored[#scored + 1] = id
    end
    redis.call('ZADD', KEYS[2], unpack(scored))
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
end
return sample
"""
)


def _offer(offered: str, shown: list[str], now_ms: int, ttl_ms: int) -> list[tuple]:
    """The Redis commands offering a new sample's slots until the TTL from now."""
    scored = [part for slot_id in shown for part in (now_ms + ttl_ms, slot_id)]
    return [("ZADD", offered, *scored), ("PEXPIRE", offered, ttl_ms)]


async def list_slots(call: Call) -> Reply:
    query: SlotsQuery = call.query
    app = call.request.app
    settings = app[SETTINGS]
    variant_name, variant = _variant(settings, call.request.headers.get(VARIANT_HEADER))
    zone_name = await _cached_zone(call, query)
    day = query.date or today(zone(zone_name))
    start, end = day_bounds(day, zone(zone_name))
    active = (await _cached_place(call, query)).active
    by_id = await _cached_eligible(call, query, start, end) if active else {}
    person = str(query.person_id) if query.person_id else None
    key = keys.exposure(exposure.remembered_by(call.subject, day, person, variant_name))
    redis = app[SHARED_REDIS]
    assert call.identity is not None
    keeps_offers = settings.exposure_enforced and not is_staff(call.identity.roles)
    offered = keys.offered(call.subject) if keeps_offers else ""
    now_ms, ttl_ms = int(time.time() * 1000), settings.exposure_cache_ttl_seconds * 1000
    sample = await redis.run(_RECALL, [key, offered], [now_ms, ttl_ms])
    shown = exposure.still_shown(_remembered(sample, zone_name), by_id)
    if not shown and by_id:
        candidates = _candidates(by_id.values(), zone_name)
        now = dt.datetime.now(dt.UTC)
        picked = exposure.sample(
            settings.exposure_salt, call.subject, day, person, variant, candidates, now
        )
        shown = [c.id for c in picked]
        entry = json.dumps({"zone": zone_name, "ids": shown})
        remember = [("SET", key, entry, "EX", settings.exposure_cache_ttl_seconds)]
        if offered and shown:
            remember += _offer(offered, shown, now_ms, ttl_ms)
        await redis.execute_many(*remember)
    slots = sorted((by_id[i] for i in shown), key=lambda s: (s.start_at, s.id))
    EXPOSED_SLOTS.labels(exposure.scope(person), variant_name).observe(len(slots))
    if slots:
        BOOKING_FUNNEL.labels("exposed").inc()
    return Reply(
        200,
        {
            "date": day.isoformat(),
            "timezone": zone_name,
            "variant": variant_name,
            "slots": [_slot_json(s, zone_name) for s in slots],
            "total_available": len(by_id),
            "has_more": len(by_id) > len(slots),
        },
    )


async def _cached_dates(
    call: Call, query: DatesQuery, start: dt.datetime, end: dt.datetime, zone_name: str
) -> list[DateAvailability]:
    """Eligible counts per date; cached like a day's slots (see `_cached_eligible`)."""
    app = call.request.app

    async def compute() -> tuple[list[DateAvailability], dt.datetime]:
        async with app[ENGINE].connect() as conn:
            dates = await availability.dates_with_availability(
                conn, query.location_id, query.person_id, start, end, zone_name
            )
            lapse = await availability.next_hold_expiry(conn, query.location_id)
        moments = [d.first_start for d in dates[:1]] + ([lapse] if lapse else [])
        return dates, min(moments, default=_later())

    key = ("dates", query.person_id, start, end, zone_name)
    return await app[AVAILABILITY_CACHE].get(str(query.location_id), key, compute)


async def list_dates(call: Call) -> Reply:
    query: DatesQuery = call.query
    zone_name = await _cached_zone(call, query)
    tz = zone(zone_name)
    first = query.from_ or today(tz)
    last = query.to or first + dt.timedelta(days=DEFAULT_DATE_SPAN_DAYS)
    if last < first or (last - first).days > MAX_DATE_SPAN_DAYS:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"'to' must be within {MAX_DATE_SPAN_DAYS} days after 'from'",
            {"fields": [{"field": "to", "message": "out of range"}]},
        )
    start, _ = day_bounds(first, tz)
    _, end = day_bounds(last, tz)
    active = (await _cached_place(call, query)).active
    dates = await _cached_dates(call, query, start, end, zone_name) if active else []
    return Reply(
        200,
        {
            "timezone": zone_name,
            "dates": [{"date": d.day.isoformat(), "available": d.available} for d in dates],
        },
    )


async def list_staff_slots(call: Call) -> Reply:
    query: SlotsQuery = call.query
    call.scope.require(query.location_id, "location")
    async with call.request.app[ENGINE].connect() as conn:
        zone_name = await _effective_zone(conn, query.location_id, query.person_id, query.timezone)
        day = query.date or today(zone(zone_name))
        start, end = day_bounds(day, zone(zone_name))
        slots = await availability.day_slots(conn, query.location_id, query.person_id, start, end)
    items = [
        {
            **_slot_json(s, zone_name),
            "capacity": s.capacity,
            "booked": s.booked,
            "held": s.held,
            "status": s.status,
        }
        for s in slots
    ]
    return Reply(200, {"items": items})


ROUTES = [
    Route(
        "GET",
        "/v1/slots",
        list_slots,
        "Slots exposed to this visitor for one date",
        access="token",
        query=SlotsQuery,
        responses={200: SlotsReply},
        rate_limit="user_get",
        tag="availability",
    ),
    Route(
        "GET",
        "/v1/dates",
        list_dates,
        "Dates with at least one available slot",
        access="token",
        query=DatesQuery,
        responses={200: DatesReply},
        rate_limit="user_get",
        tag="availability",
    ),
    Route(
        "GET",
        "/admin/v1/slots",
        list_staff_slots,
        "Every slot of one date with its capacity and usage",
        access=Permission.CATALOG_READ,
        query=SlotsQuery,
        responses={200: StaffSlotsReply},
        rate_limit="admin",
        tag="availability",
    ),
]
