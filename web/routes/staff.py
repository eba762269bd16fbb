"""Staff accounts over HTTP (admins only): create, list, change roles, reset a password,
deactivate, limit to some locations.

Tokens already issued for an account follow its changes within seconds
(`db.staff.StaffAccounts`): deactivation, a removed role or a new password stops
them, a new location scope applies to them. Passwords are hashed with Argon2id and
never shown. A caller limited to some locations manages only accounts limited to
some of its own, and cannot widen an account beyond them.
"""

import asyncio
import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, EmailStr, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from common.passwords import hash_password
from db import audit, catalog, staff
from domain.errors import ErrorCode
from domain.roles import Permission
from domain.staff import MIN_PASSWORD_LENGTH, StaffAccount
from web.errors import ApiError
from web.middlewares import REQUEST_ID
from web.models import ErrorReply, ListQuery, Patch, Strict
from web.pagination import decode_cursor, page, uuid_part
from web.responses import Reply
from web.routing import Call, Link, Route
from web.state import ENGINE

StaffRole = Literal["admin", "manager", "scheduler", "frontdesk"]
Roles = Annotated[list[StaffRole], Field(min_length=1, max_length=4)]
Password = Annotated[
    str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024, examples=["correct horse battery"])
]
LocationIds = Annotated[list[uuid.UUID], Field(min_length=1, max_length=1000)]


class StaffIn(Strict):
    email: EmailStr = Field(max_length=320)
    password: Password
    roles: Roles = Field(examples=[["frontdesk"]])
    location_ids: LocationIds | None = None
    """The locations the account is limited to; omitted or null: every location."""


class StaffPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"location_ids"})

    roles: Roles = None
    active: bool = None
    password: Password = None
    location_ids: LocationIds | None = None
    """null: every location."""


class StaffOut(BaseModel):
    id: str
    email: str
    roles: list[str]
    location_ids: list[str] | None
    active: bool


class StaffReply(BaseModel):
    staff: StaffOut


class StaffPage(BaseModel):
    items: list[StaffOut]
    next_cursor: str | None


def staff_json(account: StaffAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "roles": sorted(account.roles),
        "location_ids": account.scope.as_list(),
        "active": account.active,
    }


async def _check_scope(
    conn: AsyncConnection, call: Call, location_ids: list[uuid.UUID] | None
) -> None:
    """The caller may give this scope: within its own (404 for a location outside it, 403
    for every location), and naming only locations that exist (422)."""
    if location_ids is None:
        if call.scope.limited:
            raise ApiError(
                ErrorCode.FORBIDDEN, "a token limited to some locations cannot grant every one"
            )
        return
    for location_id in location_ids:
        call.scope.require(location_id, "location")
    unknown = await catalog.unknown_locations(conn, location_ids)
    if unknown:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "unknown location",
            {"fields": [{"field": "location_ids", "message": f"unknown location {unknown[0]}"}]},
        )


async def create_staff(call: Call) -> Reply:
    body: StaffIn = call.body
    password_hash = await asyncio.to_thread(hash_password, body.password)
    email = str(body.email).strip().lower()
    roles = sorted(set(body.roles))
    async with call.request.app[ENGINE].begin() as conn:
        await _check_scope(conn, call, body.location_ids)
        account = await staff.create_account(conn, email, password_hash, roles, body.location_ids)
        if account is None:
            raise ApiError(
                ErrorCode.EMAIL_TAKEN,
                "a staff account with this email exists",
                {"fields": [{"field": "email", "message": "taken"}]},
            )
        await audit.record(
            conn,
            call.subject,
            "staff.created",
            "staff",
            account.id,
            {"email": email, "roles": roles, "location_ids": account.scope.as_list()},
            call.request[REQUEST_ID],
        )
    return Reply(201, {"staff": staff_json(account)})


async def list_staff(call: Call) -> Reply:
    query: ListQuery = call.query
    after = decode_cursor(query.cursor, "staff", (uuid_part,))[0] if query.cursor else None
    async with call.request.app[ENGINE].connect() as conn:
        accounts = await staff.accounts_after(conn, after, query.limit + 1, call.scope)
    return Reply(200, page([staff_json(a) for a in accounts], query.limit, "staff", ["id"]))


def _account_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.request.match_info["id"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "no such staff account") from None


async def update_staff(call: Call) -> Reply:
    body: StaffPatch = call.body
    account_id = _account_id(call)
    rescope = "location_ids" in body.model_fields_set
    password_hash = None
    if body.password is not None:
        password_hash = await asyncio.to_thread(hash_password, body.password)
    async with call.request.app[ENGINE].begin() as conn:
        before = await staff.account_by_id(conn, account_id)
        if before is None or not call.scope.covers(before.scope):
            raise ApiError(ErrorCode.NOT_FOUND, "no such staff account")
        if rescope:
            await _check_scope(conn, call, body.location_ids)
        change = staff.AccountChange(
            roles=sorted(set(body.roles)) if body.roles is not None else None,
            active=body.active,
            password_hash=password_hash,
            rescope=rescope,
            location_ids=body.location_ids,
        )
        account = await staff.update_account(conn, account_id, change)
        assert account is not None  # read in this transaction; accounts are never deleted here
        changed = body.model_dump(mode="json", exclude_unset=True, exclude={"password"})
        await audit.record(
            conn,
            call.subject,
            "staff.updated",
            "staff",
            account_id,
            {"changed": changed, "password_changed": password_hash is not None},
            call.request[REQUEST_ID],
        )
    return Reply(200, {"staff": staff_json(account)})


ROUTES = [
    Route(
        "POST",
        "/admin/v1/staff",
        create_staff,
        "Create a staff account",
        access=Permission.STAFF,
        body=StaffIn,
        responses={201: StaffReply, 404: ErrorReply, 409: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="staff",
        conflicts=(ErrorCode.EMAIL_TAKEN,),
        links={
            "UpdateStaff": Link(
                "update_staff",
                {"id": "$response.body#/staff/id"},
                "Change roles, reset the password, deactivate, or change the scope",
            )
        },
    ),
    Route(
        "GET",
        "/admin/v1/staff",
        list_staff,
        "List staff accounts",
        access=Permission.STAFF,
        query=ListQuery,
        responses={200: StaffPage},
        rate_limit="admin",
        tag="staff",
    ),
    Route(
        "PATCH",
        "/admin/v1/staff/{id}",
        update_staff,
        "Change roles, reset the password, deactivate, or change the location scope",
        access=Permission.STAFF,
        body=StaffPatch,
        responses={200: StaffReply, 404: ErrorReply},
        idempotent=True,
        rate_limit="admin",
        tag="staff",
    ),
]
