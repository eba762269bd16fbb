"""Availability rules, slot generation jobs, and their status.

Changing or deleting a rule starts a generation job over the horizon
(`web/generation_jobs.py`): the slots the old rule made and the new one does not
are blocked (booked ones kept, counted as conflicts), the new ones created.
"""

import dataclasses
import re
import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StrictInt, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db import audit, catalog, jobs, rules
from domain.errors import ErrorCode
from domain.roles import Permission
from domain.rules import InvalidRule, Rule, check_weekdays, first_overlap
from web import generation_jobs
from web.errors import ApiError
from web.generation_jobs import GenerationJob, JobStarted
from web.middlewares import REQUEST_ID
from web.models import Day, ErrorReply, ListQuery, Patch, Strict, SupportedDate
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Link, Route
from web.state import ENGINE

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
    days_of_week: list[StrictInt] | None = Field(default=None, min_length=1, max_length=7)
    start_time: str = Field(examples=["09:00"])
    end_time: str = Field(examples=["17:00"])
    slot_capacity: int = Field(default=1, ge=1, le=10_000)
    slot_granularity_minutes: int = Field(default=15, ge=1, le=1440)
    slot_duration_minutes: int = Field(default=30, ge=1, le=1440)
    valid_from: Day | None = None
    valid_to: Day | None = None
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


_RULE_FIELDS = {
    "person_id": "person_id",
    "rule_kind": "kind",
    "days_of_week": "days_of_week",
    "start_time": "start_minute",
    "end_time": "end_minute",
    "slot_capacity": "capacity",
    "slot_granularity_minutes": "granularity",
    "slot_duration_minutes": "duration",
    "valid_from": "valid_from",
    "valid_to": "valid_to",
    "is_closed": "is_closed",
}
"""A rule's fields as the API names them, and as `domain.rules.Rule` does."""


class AvailabilityPatch(Patch):
    """The fields of `AvailabilityIn`; omitted ones keep their values, and the rule they
    make together is checked again as a whole."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"person_id", "days_of_week", "valid_from", "valid_to"}
    )

    location_id: uuid.UUID = None
    person_id: uuid.UUID | None = None
    rule_kind: Literal["WEEKLY", "DATE_RANGE", "EXCEPTION"] = None
    days_of_week: list[StrictInt] | None = Field(default=None, min_length=1, max_length=7)
    start_time: str = Field(default=None, examples=["10:00"])
    end_time: str = Field(default=None, examples=["16:00"])
    slot_capacity: Annotated[int, Field(ge=1, le=10_000)] = None
    slot_granularity_minutes: Annotated[int, Field(ge=1, le=1440)] = None
    slot_duration_minutes: Annotated[int, Field(ge=1, le=1440)] = None
    valid_from: Day | None = None
    valid_to: Day | None = None
    is_closed: bool = None

    @field_validator("days_of_week")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        check_weekdays(value)
        return sorted(set(value)) if value is not None else None

    @field_validator("start_time", "end_time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            _minutes(value)
        return value

    def applied_to(self, rule: Rule) -> Rule:
        """`rule` with the given fields changed; `InvalidRule` when the result breaks a rule
        invariant. `location_id` is not a rule's to change (see `_merged`)."""
        given = self.model_dump(exclude_unset=True, exclude={"location_id"})
        if "days_of_week" in given:
            given["days_of_week"] = frozenset(given["days_of_week"] or ()) or None
        for name in ("start_time", "end_time"):
            if name in given:
                given[name] = _minutes(given[name])
        return dataclasses.replace(rule, **{_RULE_FIELDS[k]: v for k, v in given.items()})


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


class AvailabilityChanged(BaseModel):
    availability: AvailabilityOut
    job: JobStarted


class JobQueued(BaseModel):
    job: JobStarted


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


async def _check_owner(
    conn: AsyncConnection, call: Call, location_id: uuid.UUID, person_id: uuid.UUID | None
) -> None:
    call.scope.require(location_id, "location")
    if not await catalog.location_exists(conn, location_id):
        raise _invalid("location_id", "unknown location")
    if person_id is not None and await catalog.person_location(conn, person_id) != location_id:
        raise _invalid("person_id", "unknown person at this location")


async def _refuse_overlap(
    conn: AsyncConnection, location_id: uuid.UUID, rule: Rule, rule_id: uuid.UUID | None = None
) -> None:
    """409 when `rule` overlaps another stored rule of its kind and owner (not itself)."""
    await rules.lock_owner(conn, location_id, rule.person_id)
    existing = await rules.same_kind_and_owner(conn, location_id, rule.person_id, rule.kind)
    existing.pop(rule_id, None)
    clash = first_overlap(rule, existing)
    if clash is not None:
        raise ApiError(
            ErrorCode.RULE_OVERLAP,
            "this rule overlaps another of the same kind and owner",
            {"overlaps": str(clash)},
        )


async def create_availability(call: Call) -> Reply:
    body: AvailabilityIn = call.body
    rule = body.rule()
    async with call.request.app[ENGINE].begin() as conn:
        await _check_owner(conn, call, body.location_id, body.person_id)
        await _refuse_overlap(conn, body.location_id, rule)
        row = await rules.insert(conn, new_id(), body.location_id, rule)
        await audit.record(
            conn,
            call.subject,
            "availability.created",
            "availability",
            row.id,
            body.model_dump(mode="json"),
            call.request[REQUEST_ID],
            body.location_id,
        )
    return Reply(201, {"availability": availability_json(row)})


async def list_availabilities(call: Call) -> Reply:
    query: AvailabilityQuery = call.query
    if query.location_id is not None:
        call.scope.require(query.location_id, "location")
    after = decode_cursor(query.cursor, "availabilities", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        rows = await rules.rules_after(
            conn,
            after,
            query.limit + 1,
            location_id=query.location_id,
            person_id=query.person_id,
            kind=query.rule_kind,
            scope=call.scope,
        )
    return Reply(
        200, page([availability_json(r) for r in rows], query.limit, "availabilities", ["id"])
    )


def _rule_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such availability rule") from None


async def _visible_rule(conn: AsyncConnection, call: Call, *, lock: bool = False) -> Any:
    """The rule the path names, if the caller's scope sees it; else 404."""
    row = await rules.get(conn, _rule_id(call), lock=lock)
    if row is None or not call.scope.sees(row.location_id):
        raise ApiError(ErrorCode.NOT_FOUND, "no such availability rule")
    return row


async def get_availability(call: Call) -> Reply:
    async with call.request.app[ENGINE].connect() as conn:
        row = await _visible_rule(conn, call)
    return Reply(200, {"availability": availability_json(row)})


async def _job_after_change(
    conn: AsyncConnection, call: Call, before: Any, after_person: uuid.UUID | None, cause: dict
) -> GenerationJob:
    """The reconcile a changed rule needs: its owner's slots, or the whole location's when
    the rule is the location's own (its exceptions apply to everyone) or changed owner."""
    location = await catalog.location(conn, before.location_id)
    person = before.person_id if before.person_id == after_person else None
    job = generation_jobs.over_horizon(call, before.location_id, person, location.timezone)
    await generation_jobs.record(conn, call, job, cause)
    return job


def _merged(row: Any, body: AvailabilityPatch) -> Rule:
    if body.location_id is not None and body.location_id != row.location_id:
        raise _invalid(
            "location_id", "a rule stays at its location; delete it and create one there"
        )
    try:
        return body.applied_to(rules.as_rule(row))
    except InvalidRule as broken:
        raise _invalid(broken.field, broken.message) from None


async def update_availability(call: Call) -> Reply:
    body: AvailabilityPatch = call.body
    async with call.request.app[ENGINE].begin() as conn:
        before = await _visible_rule(conn, call, lock=True)
        rule = _merged(before, body)
        if rule.person_id != before.person_id:
            await _check_owner(conn, call, before.location_id, rule.person_id)
        await _refuse_overlap(conn, before.location_id, rule, before.id)
        row = await rules.update(conn, before.id, rule)
        changed = body.model_dump(mode="json", exclude_unset=True)
        cause = {"availability_id": str(before.id), "cause": "availability.updated"}
        job = await _job_after_change(conn, call, before, rule.person_id, cause)
        await audit.record(
            conn,
            call.subject,
            "availability.updated",
            "availability",
            before.id,
            {"changed": changed, "job_id": str(job.id)},
            call.request[REQUEST_ID],
            before.location_id,
        )
    generation_jobs.start(call, job)
    return Reply(200, {"availability": availability_json(row), "job": job.reply()})


async def delete_availability(call: Call) -> Reply:
    async with call.request.app[ENGINE].begin() as conn:
        before = await _visible_rule(conn, call, lock=True)
        await rules.delete(conn, before.id)
        cause = {"availability_id": str(before.id), "cause": "availability.deleted"}
        job = await _job_after_change(conn, call, before, before.person_id, cause)
        await audit.record(
            conn,
            call.subject,
            "availability.deleted",
            "availability",
            before.id,
            {"availability": availability_json(before), "job_id": str(job.id)},
            call.request[REQUEST_ID],
            before.location_id,
        )
    generation_jobs.start(call, job)
    return Reply(202, {"job": job.reply()})


async def generate(call: Call) -> Reply:
    body: GenerateIn = call.body
    job = GenerationJob(new_id(), body.location_id, body.person_id, body.first, body.last)
    async with call.request.app[ENGINE].begin() as conn:
        await _check_owner(conn, call, body.location_id, body.person_id)
        await generation_jobs.record(conn, call, job)
    generation_jobs.start(call, job)
    return Reply(202, {"job": job.reply()})


async def get_job(call: Call) -> Reply:
    try:
        job_id = uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such job") from None
    async with call.request.app[ENGINE].connect() as conn:
        row = await jobs.get(conn, job_id)
    if row is None or not call.scope.sees(row.params.get("location_id")):
        raise ApiError(ErrorCode.NOT_FOUND, "no such job")
    job: dict[str, Any] = {"id": str(row.id), "status": row.status}
    if row.result is not None:
        job["result"] = row.result
    if row.error is not None:
        job["error"] = row.error
    return Reply(200, {"job": job})


_RULE_ERRORS: dict[int, type[BaseModel] | None] = {404: ErrorReply, 409: ErrorReply}
_FOLLOW_JOB = {"GetJob": Link("get_job", {"id": "$response.body#/job/id"}, "Poll the job")}


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
        links={
            "GetAvailability": Link(
                "get_availability",
                {"id": "$response.body#/availability/id"},
                "Read, change or delete the rule",
            )
        },
    ),
    Route(
        "GET",
        "/admin/v1/availabilities/{id}",
        get_availability,
        "One availability rule",
        access=Permission.AVAILABILITY,
        responses={200: AvailabilityReply, 404: ErrorReply},
        rate_limit="admin",
        tag="availability",
    ),
    Route(
        "PATCH",
        "/admin/v1/availabilities/{id}",
        update_availability,
        "Change a rule (omitted fields keep their values); a job reconciles its slots",
        access=Permission.AVAILABILITY,
        body=AvailabilityPatch,
        responses={200: AvailabilityChanged, **_RULE_ERRORS},
        idempotent=True,
        rate_limit="admin",
        tag="availability",
        conflicts=(ErrorCode.RULE_OVERLAP,),
        links=_FOLLOW_JOB,
    ),
    Route(
        "DELETE",
        "/admin/v1/availabilities/{id}",
        delete_availability,
        "Delete a rule; a job blocks the slots it made (booked ones are kept as conflicts)",
        access=Permission.AVAILABILITY,
        responses={202: JobQueued, 404: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="availability",
        links=_FOLLOW_JOB,
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
        links=_FOLLOW_JOB,
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
