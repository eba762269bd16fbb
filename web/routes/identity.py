"""Tokens for staff (email and password) and for anonymous visitors (sessions)."""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field
from sqlalchemy import text

from common.ids import new_id
from domain.errors import ApiError, ErrorCode
from domain.roles import Role
from web.identity import issue_token
from web.models import ErrorReply, Strict
from web.responses import Reply
from web.routing import Call, Route
from web.state import ENGINE, SETTINGS

_hasher = PasswordHasher()
# Verifying against a real hash when the account is unknown keeps timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-password")


class TokenRequest(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenReply(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class SessionReply(BaseModel):
    session_token: str
    session_id: str
    expires_in: int


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_token(call: Call) -> Reply:
    body: TokenRequest = call.body
    async with call.request.app[ENGINE].connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT id, password_hash, roles, active FROM staff_accounts WHERE email = :e"
                ),
                {"e": body.email.strip().lower()},
            )
        ).first()
    ok = await asyncio.to_thread(_verify, row[1] if row else _DUMMY_HASH, body.password)
    if row is None or not ok or not row[3]:
        raise ApiError(ErrorCode.UNAUTHENTICATED, "wrong email or password")
    settings = call.request.app[SETTINGS]
    token = issue_token(
        settings.jwt_secret,
        settings.jwt_issuer,
        str(row[0]),
        list(row[2]),
        settings.jwt_ttl_seconds,
    )
    return Reply(
        200, {"access_token": token, "token_type": "Bearer", "expires_in": settings.jwt_ttl_seconds}
    )


async def create_session(call: Call) -> Reply:
    settings = call.request.app[SETTINGS]
    session_id = str(new_id())
    token = issue_token(
        settings.jwt_secret,
        settings.jwt_issuer,
        session_id,
        [Role.USER.value],
        settings.session_ttl_seconds,
    )
    return Reply(
        201,
        {
            "session_token": token,
            "session_id": session_id,
            "expires_in": settings.session_ttl_seconds,
        },
    )


ROUTES = [
    Route(
        "POST",
        "/auth/token",
        create_token,
        "Exchange staff credentials for a bearer token",
        access="public",
        body=TokenRequest,
        responses={200: TokenReply, 401: ErrorReply},
        tag="identity",
    ),
    Route(
        "POST",
        "/v1/sessions",
        create_session,
        "Start an anonymous visitor session",
        access="public",
        responses={201: SessionReply},
        rate_limit="session_post",
        tag="identity",
    ),
]
