"""Locations and the people who can be booked at them."""

import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from common.ids import new_id
from db import audit, catalog
from domain.errors import ErrorCode
from domain.roles import Permission
from domain.timezones import is_iana_zone
from web.errors import ApiError
from web.middlewares import REQUEST_ID
from web.models import ListQuery, Strict
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Route
from web.state import ENGINE


class LocationIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Asia/Dubai"

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        if not is_iana_zone(value):
            raise ValueError("timezone must be an IANA time zone name, e.g. Asia/Dubai")
        return value


class LocationOut(BaseModel):
    id: str
    name: str
    timezone: str


class LocationReply(BaseModel):
    location: LocationOut


class LocationPage(BaseModel):
    items: list[LocationOut]
    next_cursor: str | None


class PersonIn(Strict):
    location_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    skills: list[str] = Field(default_factory=list, max_length=50)
    active: bool = True

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip() for s in value]
        if any(not s or len(s) > 100 for s in cleaned):
            raise ValueError("skills must be non-blank strings of at most 100 characters")
        return sorted(set(cleaned))


class PersonOut(BaseModel):
    id: str
    location_id: str
    name: str
    skills: list[str]
    active: bool


class PersonReply(BaseModel):
    person: PersonOut


class PersonPage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None


class PeopleQuery(ListQuery):
    location_id: uuid.UUID | None = None
    skill: str | None = None
    active: bool | None = None


def location_json(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "timezone": row.timezone}


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
        )
    return Reply(201, {"location": location_json(row)})


async def list_locations(call: Call) -> Reply:
    query: ListQuery = call.query
    after = decode_cursor(query.cursor, "locations", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await catalog.locations_after(conn, after, query.limit + 1)
    return Reply(200, page([location_json(r) for r in rows], query.limit, "locations", ["id"]))


async def create_person(call: Call) -> Reply:
    body: PersonIn = call.body
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
        )
    return Reply(201, {"person": person_json(row)})


async def list_people(call: Call) -> Reply:
    query: PeopleQuery = call.query
    after = decode_cursor(query.cursor, "people", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await catalog.people_after(
            conn,
            after,
            query.limit + 1,
            location_id=query.location_id,
            skill=query.skill,
            active=query.active,
        )
    return Reply(200, page([person_json(r) for r in rows], query.limit, "people", ["id"]))


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
    ),
    Route(
        "GET",
        "/admin/v1/locations",
        list_locations,
        "List locations",
        access=Permission.CATALOG_READ,
        query=ListQuery,
        responses={200: LocationPage},
        rate_limit="admin",
        tag="catalog",
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
]
