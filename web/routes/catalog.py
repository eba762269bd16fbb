"""Locations and the people who can be booked at them: created, listed, changed, retired.

Deactivating a person or location closes their future slots in the same transaction
(`db/deactivation.py`) and names the live bookings on them, which stay as they are;
reactivating starts a generation job over the horizon, which reopens what the rules
still imply (`web/generation_jobs.py`).
"""

import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db import audit, catalog, deactivation
from db.generation import lock_location
from domain.errors import ErrorCode
from domain.policy import BookingPolicy, InvalidPolicy
from domain.roles import Permission
from domain.timezones import is_iana_zone
from web import generation_jobs
from web.availability_cache import AVAILABILITY_CACHE
from web.errors import ApiError
from web.generation_jobs import GenerationJob, JobStarted
from web.middlewares import REQUEST_ID
from web.models import ErrorReply, ListQuery, Patch, Strict
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Route
from web.state import ENGINE


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("name must not be blank")
    return value.strip()


def _iana(value: str) -> str:
    if not is_iana_zone(value):
        raise ValueError("timezone must be an IANA time zone name, e.g. Asia/Dubai")
    return value


def _cleaned(value: list[str]) -> list[str]:
    cleaned = [s.strip() for s in value]
    if any(not s or len(s) > 100 for s in cleaned):
        raise ValueError("skills must be non-blank strings of at most 100 characters")
    return sorted(set(cleaned))


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
Zone = Annotated[str, AfterValidator(_iana)]
Skills = Annotated[list[str], Field(max_length=50), AfterValidator(_cleaned)]


class LocationIn(Strict):
    name: Name
    timezone: Zone = "Asia/Dubai"


class LocationPatch(Patch):
    name: Name = None
    timezone: Zone = None
    active: bool = None
    policy: dict[str, Any] = Field(
        default=None, examples=[{"min_notice_minutes": 60, "buffer_minutes": 10}]
    )

    def booking_policy(self) -> BookingPolicy | None:
        """The policy given, validated (`domain/policy.py`); 422 naming `policy.<field>`."""
        if self.policy is None:
            return None
        try:
            return BookingPolicy.from_json(self.policy)
        except InvalidPolicy as bad:
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                str(bad),
                {"fields": [{"field": f"policy.{bad.field}", "message": str(bad)}]},
            ) from None


class PolicyOut(BaseModel):
    min_notice_minutes: int
    max_advance_days: int | None
    buffer_minutes: int


class LocationOut(BaseModel):
    id: str
    name: str
    timezone: str
    active: bool
    policy: PolicyOut


class LocationReply(BaseModel):
    location: LocationOut


class LocationChanged(BaseModel):
    location: LocationOut
    blocked_slots: int | None = None
    """Deactivation only: how many future slots it closed."""
    conflicting_booking_ids: list[str] | None = None
    """Deactivation only: the live bookings on the closed slots, left as they are."""
    job: JobStarted | None = None
    """Reactivation only: the generation job reopening what the rules imply."""


class LocationsQuery(ListQuery):
    active: bool | None = None


class LocationPage(BaseModel):
    items: list[LocationOut]
    next_cursor: str | None


class PersonIn(Strict):
    location_id: uuid.UUID
    name: Name
    skills: Skills = Field(default_factory=list)
    active: bool = True


class PersonPatch(Patch):
    name: Name = None
    skills: Skills = None
    active: bool = None


class PersonOut(BaseModel):
    id: str
    location_id: str
    name: str
    skills: list[str]
    active: bool


class PersonReply(BaseModel):
    person: PersonOut


class PersonChanged(BaseModel):
    person: PersonOut
    blocked_slots: int | None = None
    conflicting_booking_ids: list[str] | None = None
    job: JobStarted | None = None


class PersonPage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None


class PeopleQuery(ListQuery):
    location_id: uuid.UUID | None = None
    skill: str | None = None
    active: bool | None = None


def location_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "timezone": row.timezone,
        "active": row.active,
        "policy": BookingPolicy.from_json(row.policy).to_json(),
    }


def person_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "location_id": str(row.location_id),
        "name": row.name,
        "skills": list(row.skills),
        "active": row.active,
    }


async def create_location(call: Call) -> Reply:
    body: LocationIn = call.body
    location_id = new_id()
    async with call.request.app[ENGINE].begin() as conn:
        row = await catalog.create_location(conn, location_id, body.name, body.timezone)
        await audit.record(
            conn,
            call.subject,
            "location.created",
            "location",
            location_id,
            body.model_dump(),
            call.request[REQUEST_ID],
            location_id,
        )
    return Reply(201, {"location": location_json(row)})


async def list_locations(call: Call) -> Reply:
    query: LocationsQuery = call.query
    after = decode_cursor(query.cursor, "locations", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await catalog.locations_after(
            conn, after, query.limit + 1, scope=call.scope, active=query.active
        )
    return Reply(200, page([location_json(r) for r in rows], query.limit, "locations", ["id"]))


def _path_id(call: Call, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, f"no such {what}") from None


async def _retire_or_revive(
    conn: AsyncConnection,
    call: Call,
    before: Any,
    active: bool | None,
    location_id: uuid.UUID,
    person_id: uuid.UUID | None,
) -> tuple[dict[str, Any], GenerationJob | None]:
    """Closes future slots when deactivating; a job over the horizon when reactivating.

    Returns what the reply adds at its top level, and the job to start after commit.
    """
    if active is False:
        closed = await deactivation.close_future_slots(conn, location_id, person_id)
        return {
            "blocked_slots": closed.blocked_slots,
            "conflicting_booking_ids": closed.conflicting_booking_ids,
        }, None
    if active and not before.active:
        location = await catalog.location(conn, location_id)
        job = generation_jobs.over_horizon(call, location_id, person_id, location.timezone)
        await generation_jobs.record(conn, call, job, {"cause": "reactivated"})
        return {"job": job.reply()}, job
    return {}, None


def _after_commit(call: Call, location_id: uuid.UUID, job: GenerationJob | None) -> None:
    """This process forgets what it cached about the location at once (the others on its
    notification), and the job, if any, is sent."""
    call.request.app[AVAILABILITY_CACHE].forget(str(location_id))
    if job is not None:
        generation_jobs.start(call, job)


async def update_location(call: Call) -> Reply:
    body: LocationPatch = call.body
    policy = body.booking_policy()
    location_id = _path_id(call, "location")
    call.scope.require(location_id, "location")
    async with call.request.app[ENGINE].begin() as conn:
        await lock_location(conn, location_id)
        before = await catalog.location(conn, location_id, lock=True)
        if before is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no such location")
        if body.timezone is not None and body.timezone != before.timezone:
            await _refuse_zone_change(conn, location_id)
        change = catalog.LocationChange(
            body.name, body.timezone, body.active, policy.to_json() if policy else None
        )
        row = await catalog.update_location(conn, location_id, change)
        extra, job = await _retire_or_revive(conn, call, before, body.active, location_id, None)
        await audit.record(
            conn,
            call.subject,
            "location.updated",
            "location",
            location_id,
            {"changed": body.model_dump(exclude_unset=True), **extra},
            call.request[REQUEST_ID],
            location_id,
        )
    _after_commit(call, location_id, job)
    return Reply(200, {"location": location_json(row), **extra})


async def _refuse_zone_change(conn: AsyncConnection, location_id: uuid.UUID) -> None:
    """Slots are dated in the location's zone: while any is still ahead, it stays."""
    future = await catalog.future_slots(conn, location_id)
    if future:
        raise ApiError(
            ErrorCode.IN_USE,
            "the location has future slots; its time zone can change once none is left",
            {"fields": [{"field": "timezone", "message": "in use"}], "future_slots": future},
        )


async def create_person(call: Call) -> Reply:
    body: PersonIn = call.body
    call.scope.require(body.location_id, "location")
    person_id = new_id()
    async with call.request.app[ENGINE].begin() as conn:
        if not await catalog.location_exists(conn, body.location_id):
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                "location does not exist",
                {"fields": [{"field": "location_id", "message": "unknown location"}]},
            )
        row = await catalog.create_person(
            conn, person_id, body.location_id, body.name, body.skills, body.active
        )
        await audit.record(
            conn,
            call.subject,
            "person.created",
            "person",
            person_id,
            body.model_dump(mode="json"),
            call.request[REQUEST_ID],
            body.location_id,
        )
    return Reply(201, {"person": person_json(row)})


async def list_people(call: Call) -> Reply:
    query: PeopleQuery = call.query
    if query.location_id is not None:
        call.scope.require(query.location_id, "location")
    after = decode_cursor(query.cursor, "people", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await catalog.people_after(
            conn,
            after,
            query.limit + 1,
            location_id=query.location_id,
            skill=query.skill,
            active=query.active,
            scope=call.scope,
        )
    return Reply(200, page([person_json(r) for r in rows], query.limit, "people", ["id"]))


async def update_person(call: Call) -> Reply:
    body: PersonPatch = call.body
    person_id = _path_id(call, "person")
    async with call.request.app[ENGINE].begin() as conn:
        found = await catalog.person(conn, person_id)
        if found is None or not call.scope.sees(found.location_id):
            raise ApiError(ErrorCode.NOT_FOUND, "no such person")
        location_id = found.location_id
        await lock_location(conn, location_id)
        before = await catalog.person(conn, person_id, lock=True)
        row = await catalog.update_person(conn, person_id, body.name, body.skills, body.active)
        extra, job = await _retire_or_revive(
            conn, call, before, body.active, location_id, person_id
        )
        await audit.record(
            conn,
            call.subject,
            "person.updated",
            "person",
            person_id,
            {"changed": body.model_dump(exclude_unset=True), **extra},
            call.request[REQUEST_ID],
            location_id,
        )
    _after_commit(call, location_id, job)
    return Reply(200, {"person": person_json(row), **extra})


ROUTES = [
    Route(
        "POST",
        "/admin/v1/locations",
        create_location,
        "Create a location",
        access=Permission.CATALOG_WRITE,
        body=LocationIn,
        responses={201: LocationReply},
        idempotent=True,
        rate_limit="admin",
        tag="catalog",
        every_location=True,
    ),
    Route(
        "GET",
        "/admin/v1/locations",
        list_locations,
        "List locations",
        access=Permission.CATALOG_READ,
        query=LocationsQuery,
        responses={200: LocationPage},
        rate_limit="admin",
        tag="catalog",
    ),
    Route(
        "PATCH",
        "/admin/v1/locations/{id}",
        update_location,
        "Change, deactivate or reactivate a location, or set its booking policy",
        access=Permission.CATALOG_WRITE,
        body=LocationPatch,
        responses={200: LocationChanged, 404: ErrorReply, 409: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="catalog",
        conflicts=(ErrorCode.IN_USE,),
    ),
    Route(
        "POST",
        "/admin/v1/people",
        create_person,
        "Create a schedulable person",
        access=Permission.CATALOG_WRITE,
        body=PersonIn,
        responses={201: PersonReply},
        idempotent=True,
        rate_limit="admin",
        tag="catalog",
    ),
    Route(
        "GET",
        "/admin/v1/people",
        list_people,
        "List people",
        access=Permission.CATALOG_READ,
        query=PeopleQuery,
        responses={200: PersonPage},
        rate_limit="admin",
        tag="catalog",
    ),
    Route(
        "PATCH",
        "/admin/v1/people/{id}",
        update_person,
        "Change, deactivate or reactivate a person",
        access=Permission.CATALOG_WRITE,
        body=PersonPatch,
        responses={200: PersonChanged, 404: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="catalog",
    ),
]
