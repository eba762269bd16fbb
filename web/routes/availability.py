"""Availability rules, slot generation jobs, and their status."""

import datetime as dt
import json
import re
import uuid
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import text

from common.ids import new_id
from db import audit
from db.rules import COLUMNS, as_rule, lock_owner
from domain.errors import ApiError, ErrorCode
from domain.roles import Permission
from domain.rules import first_overlap
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
        if value is not None and any(d < 1 or d > 7 for d in value):
            raise ValueError("days are ISO weekdays 1 (Monday) to 7 (Sunday)")
        return sorted(set(value)) if value is not None else None

    @field_validator("start_time", "end_time")
    @classmethod
    def _time(cls, value: str) -> str:
        _minutes(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "AvailabilityIn":
        if _minutes(self.end_time) <= _minutes(self.start_time):
            raise ValueError("end_time must be after start_time")
        if self.start_time == "24:00":
            raise ValueError("start_time must be before 24:00")
        if self.slot_duration_minutes < self.slot_granularity_minutes:
            raise ValueError("slot_duration_minutes must be at least slot_granularity_minutes")
        if self.rule_kind != "WEEKLY" and (self.valid_from is None or self.valid_to is None):
            raise ValueError(f"{self.rule_kind} rules need valid_from and valid_to")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        if self.is_closed and self.rule_kind != "EXCEPTION":
            raise ValueError("only EXCEPTION rules can close hours")
        return self


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
    if not await conn.scalar(text("SELECT 1 FROM locations WHERE id = :id"), {"id": location_id}):
        raise _invalid("location_id", "unknown location")
    if person_id is not None:
        at = await conn.scalar(
            text("SELECT location_id FROM people WHERE id = :id"), {"id": person_id}
        )
        if at != location_id:
            raise _invalid("person_id", "unknown person at this location")


async def create_availability(call: Call) -> Reply:
    body: AvailabilityIn = call.body
    values = {
        "id": new_id(),
        "location_id": body.location_id,
        "person_id": body.person_id,
        "rule_kind": body.rule_kind,
        "days_of_week": body.days_of_week,
        "start_minute": _minutes(body.start_time),
        "end_minute": _minutes(body.end_time),
        "slot_capacity": body.slot_capacity,
        "slot_granularity_minutes": body.slot_granularity_minutes,
        "slot_duration_minutes": body.slot_duration_minutes,
        "valid_from": body.valid_from,
        "valid_to": body.valid_to,
        "is_closed": body.is_closed,
    }
    async with call.request.app[ENGINE].begin() as conn:
        await _check_owner(conn, body.location_id, body.person_id)
        await lock_owner(conn, body.location_id, body.person_id)
        existing = (
            await conn.execute(
                text(
                    f"SELECT {COLUMNS} FROM availability_rules WHERE location_id = :loc"
                    " AND person_id IS NOT DISTINCT FROM :person AND rule_kind = :kind"
                ),
                {"loc": body.location_id, "person": body.person_id, "kind": body.rule_kind},
            )
        ).all()
        candidate = as_rule(SimpleNamespace(**values))
        clash = first_overlap(candidate, [as_rule(r) for r in existing])
        if clash is not None:
            other = next(r for r in existing if as_rule(r) == clash)
            raise ApiError(
                ErrorCode.RULE_OVERLAP,
                "this rule overlaps another of the same kind and owner",
                {"overlaps": str(other.id)},
            )
        row = (
            await conn.execute(
                text(
                    f"INSERT INTO availability_rules ({', '.join(values)}) VALUES"
                    f" ({', '.join(':' + k for k in values)}) RETURNING {COLUMNS}"
                ),
                values,
            )
        ).one()
        await audit.record(
            conn,
            call.actor,
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
        rows = (
            await conn.execute(
                text(
                    f"SELECT {COLUMNS} FROM availability_rules"
                    " WHERE (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
                    " AND (CAST(:loc AS uuid) IS NULL OR location_id = CAST(:loc AS uuid))"
                    " AND (CAST(:person AS uuid) IS NULL OR person_id = CAST(:person AS uuid))"
                    " AND (CAST(:kind AS text) IS NULL OR rule_kind = CAST(:kind AS text))"
                    " ORDER BY id LIMIT :n"
                ),
                {
                    "after": after,
                    "loc": query.location_id,
                    "person": query.person_id,
                    "kind": query.rule_kind,
                    "n": query.limit + 1,
                },
            )
        ).all()
    return Reply(
        200, page([availability_json(r) for r in rows], query.limit, "availabilities", ["id"])
    )


async def generate(call: Call) -> Reply:
    body: GenerateIn = call.body
    job_id = new_id()
    params = body.model_dump(mode="json", by_alias=True)
    async with call.request.app[ENGINE].begin() as conn:
        await _check_owner(conn, body.location_id, body.person_id)
        await conn.execute(
            text(
                "INSERT INTO jobs (id, kind, params, created_by, request_id)"
                " VALUES (:id, 'generate_slots', CAST(:params AS jsonb), :by, :rid)"
            ),
            {
                "id": job_id,
                "params": json.dumps(params),
                "by": call.actor,
                "rid": call.request[REQUEST_ID],
            },
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
        row = (
            await conn.execute(
                text("SELECT id, status, result, error FROM jobs WHERE id = :id"), {"id": job_id}
            )
        ).first()
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
