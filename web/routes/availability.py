"""Availability rules, slot generation jobs, and their status."""

import datetime as dt
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from common.ids import new_id
from db import audit, catalog, jobs, rules
from domain.errors import ErrorCode
from domain.roles import Permission
from domain.rules import Rule, check_weekdays, first_overlap
from web.errors import ApiError
from web.middlewares import REQUEST_ID
from web.models import ErrorReply, ListQuery, Strict, SupportedDate
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Link, Route
from web.state import BROKER, ENGINE
from workers.broker import send
from workers.tasks import GENERATE_SLOTS

MAX_GENERATION_DAYS = 366
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(value: str) -> int:
    if not _HHMM.match(value):
        raise ValueError("times are HH:MM, 00:00 to 24:00")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class AvailabilityIn(Strict):
    location_id: uuid.UUID
    person_id: uuid.UUID | None = None
    rule_kind: Literal["WEEKLY", "DATE_RANGE", "EXCEPTION"]
    days_of_week: list[int] | None = Field(default=None, min_length=1, max_length=7)
    start_time: str = Field(examples=["09:00"])
    end_time: str = Field(examples=["17:00"])
    slot_capacity: int = Field(default=1, ge=1, le=10_000)
    slot_granularity_minutes: int = Field(default=15, ge=1, le=1440)
    slot_duration_minutes: int = Field(default=30, ge=1, le=1440)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    is_closed: bool = False

    @field_validator("days_of_week")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        check_weekdays(value)
        return sorted(set(value)) if value is not None else None

    @field_validator("start_time", "end_time")
    @classmethod
    def _time(cls, value: str) -> str:
        _minutes(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "AvailabilityIn":
        """The rule's own invariants; its `InvalidRule` is a ValueError, so a 422."""
        self.rule()
        return self

    def rule(self) -> Rule:
        return Rule(
            kind=self.rule_kind,
            start_minute=_minutes(self.start_time),
            end_minute=_minutes(self.end_time),
            days_of_week=frozenset(self.days_of_week) if self.days_of_week else None,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            capacity=self.slot_capacity,
            granularity=self.slot_granularity_minutes,
            duration=self.slot_duration_minutes,
            is_closed=self.is_closed,
            person_id=self.person_id,
        )


class AvailabilityOut(BaseModel):
    id: str
    location_id: str
    person_id: str | None
    rule_kind: str
    days_of_week: list[int] | None
    start_time: str
    end_time: str
    slot_capacity: int
    slot_granularity_minutes: int
    slot_duration_minutes: int
    valid_from: str | None
    valid_to: str | None
    is_closed: bool


class AvailabilityReply(BaseModel):
    availability: AvailabilityOut


class AvailabilityPage(BaseModel):
    items: list[AvailabilityOut]
    next_cursor: str | None


class AvailabilityQuery(ListQuery):
    location_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    rule_kind: Literal["WEEKLY", "DATE_RANGE", "EXCEPTION"] | None = None


class GenerateIn(Strict):
    location_id: uuid.UUID
    person_id: uuid.UUID | None = None
    first: SupportedDate = Field(alias="from")
    last: SupportedDate = Field(alias="to")

    @model_validator(mode="after")
    def _range(self) -> "GenerateIn":
        if self.last < self.first:
            raise ValueError("to must not be before from")
        if (self.last - self.first).days + 1 > MAX_GENERATION_DAYS:
            raise ValueError(f"at most {MAX_GENERATION_DAYS} days at a time")
        return self


class JobOut(BaseModel):
    id: str
    status: str
    result: dict[str, int] | None = None
    error: str | None = None


class JobReply(BaseModel):
    job: JobOut


def availability_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "location_id": str(row.location_id),
        "person_id": str(row.person_id) if row.person_id else None,
        "rule_kind": row.rule_kind,
        "days_of_week": list(row.days_of_week) if row.days_of_week else None,
        "start_time": _hhmm(row.start_minute),
        "end_time": _hhmm(row.end_minute),
        "slot_capacity": row.slot_capacity,
        "slot_granularity_minutes": row.slot_granularity_minutes,
        "slot_duration_minutes": row.slot_duration_minutes,
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
        "is_closed": row.is_closed,
    }


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        ErrorCode.VALIDATION_ERROR, message, {"fields": [{"field": field, "message": message}]}
    )


async def _check_owner(conn: Any, location_id: uuid.UUID, person_id: uuid.UUID | None) -> None:
    if not await catalog.location_exists(conn, location_id):
        raise _invalid("location_id", "unknown location")
    if person_id is not None and await catalog.person_location(conn, person_id) != location_id:
        raise _invalid("person_id", "unknown person at this location")


async def create_availability(call: Call) -> Reply:
    body: AvailabilityIn = call.body
    rule = body.rule()
    async with call.request.app[ENGINE].begin() as conn:
        await _check_owner(conn, body.location_id, body.person_id)
        await rules.lock_owner(conn, body.location_id, body.person_id)
        existing = await rules.same_kind_and_owner(
            conn, body.location_id, body.person_id, rule.kind
        )
        clash = first_overlap(rule, existing)
        if clash is not None:
            raise ApiError(
                ErrorCode.RULE_OVERLAP,
                "this rule overlaps another of the same kind and owner",
                {"overlaps": str(clash)},
            )
        row = await rules.insert(conn, new_id(), body.location_id, rule)
        await audit.record(
            conn,
            call.subject,
            "availability.created",
            "availability",
            row.id,
            body.model_dump(mode="json"),
            call.request[REQUEST_ID],
        )
    return Reply(201, {"availability": availability_json(row)})


async def list_availabilities(call: Call) -> Reply:
    query: AvailabilityQuery = call.query
    after = decode_cursor(query.cursor, "availabilities", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await rules.rules_after(
            conn,
            after,
            query.limit + 1,
            location_id=query.location_id,
            person_id=query.person_id,
            kind=query.rule_kind,
        )
    return Reply(
        200, page([availability_json(r) for r in rows], query.limit, "availabilities", ["id"])
    )


async def generate(call: Call) -> Reply:
    body: GenerateIn = call.body
    job_id = new_id()
    params = body.model_dump(mode="json", by_alias=True)
    async with call.request.app[ENGINE].begin() as conn:
        await _check_owner(conn, body.location_id, body.person_id)
        await jobs.create(
            conn, job_id, "generate_slots", params, call.subject, call.request[REQUEST_ID]
        )
    send(
        call.request.app[BROKER],
        GENERATE_SLOTS,
        str(job_id),
        str(body.location_id),
        str(body.person_id) if body.person_id else None,
        body.first.isoformat(),
        body.last.isoformat(),
        request_id=call.request[REQUEST_ID],
    )
    return Reply(202, {"job": {"id": str(job_id), "status": "queued"}})


async def get_job(call: Call) -> Reply:
    try:
        job_id = uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such job") from None
    async with call.request.app[ENGINE].connect() as conn:
        row = await jobs.get(conn, job_id)
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no such job")
    job: dict[str, Any] = {"id": str(row.id), "status": row.status}
    if row.result is not None:
        job["result"] = row.result
    if row.error is not None:
        job["error"] = row.error
    return Reply(200, {"job": job})


ROUTES = [
    Route(
        "POST",
        "/admin/v1/availabilities",
        create_availability,
        "Define weekly, date-range or exception hours",
        access=Permission.AVAILABILITY,
        body=AvailabilityIn,
        responses={201: AvailabilityReply, 409: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="availability",
        conflicts=(ErrorCode.RULE_OVERLAP,),
    ),
    Route(
        "GET",
        "/admin/v1/availabilities",
        list_availabilities,
        "List availability rules",
        access=Permission.AVAILABILITY,
        query=AvailabilityQuery,
        responses={200: AvailabilityPage},
        rate_limit="admin",
        tag="availability",
    ),
    Route(
        "POST",
        "/admin/v1/slots/generate",
        generate,
        "Materialize slots for a date range (a job)",
        access=Permission.AVAILABILITY,
        body=GenerateIn,
        responses={202: JobReply},
        idempotent=True,
        rate_limit="admin",
        tag="availability",
        links={"GetJob": Link("get_job", {"id": "$response.body#/job/id"}, "Poll the job")},
    ),
    Route(
        "GET",
        "/admin/v1/jobs/{id}",
        get_job,
        "A generation job's status and counts",
        access=Permission.AVAILABILITY,
        responses={200: JobReply, 404: ErrorReply},
        rate_limit="admin",
        tag="availability",
    ),
]
