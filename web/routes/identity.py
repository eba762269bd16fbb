"""Tokens for staff (email and password) and for anonymous visitors (sessions)."""

import asyncio
import hashlib

from pydantic import BaseModel, Field

from common.ids import new_id
from common.passwords import verify_password
from common.tokens import issue_session_token, issue_staff_token
from db.staff import account_by_email
from domain.errors import ErrorCode
from web.errors import ApiError
from web.models import ErrorReply, Strict
from web.responses import Reply
from web.routing import Call, Route
from web.state import ENGINE, SETTINGS


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


def _email(call: Call) -> str:
    body: TokenRequest = call.body
    return body.email.strip().lower()


def _per_email(call: Call) -> list[tuple[str, str]]:
    """Guesses at one account are limited however many addresses they come from."""
    digest = hashlib.sha256(_email(call).encode()).hexdigest()[:32]
    return [("login_email", f"email:{digest}")]


async def create_token(call: Call) -> Reply:
    body: TokenRequest = call.body
    async with call.request.app[ENGINE].connect() as conn:
        account = await account_by_email(conn, _email(call))
    password_hash = account.password_hash if account else None
    ok = await asyncio.to_thread(verify_password, password_hash, body.password)
    if account is None or not ok or not account.active:
        raise ApiError(ErrorCode.UNAUTHENTICATED, "wrong email or password")
    settings = call.request.app[SETTINGS]
    token = issue_staff_token(
        settings.jwt_secret, settings.jwt_issuer, account, settings.jwt_ttl_seconds
    )
    return Reply(
        200, {"access_token": token, "token_type": "Bearer", "expires_in": settings.jwt_ttl_seconds}
    )


async def create_session(call: Call) -> Reply:
    settings = call.request.app[SETTINGS]
    session_id = str(new_id())
    token = issue_session_token(
        settings.jwt_secret, settings.jwt_issuer, session_id, settings.session_ttl_seconds
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
        rate_limit="login",
        extra_budgets=_per_email,
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
