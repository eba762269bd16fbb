"""The Dramatiq dashboard answers admins only."""

import asyncio
import base64
import io
from collections.abc import Callable

import pytest

from common.cli import create_staff
from common.settings import Settings
from tests.support.api import token
from workers.dashboard import AdminOnly


def _inner(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"dashboard"]


def _status(app: AdminOnly, authorization: str | None) -> str:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.input": io.BytesIO()}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    seen: list[str] = []
    app(environ, lambda status, headers: seen.append(status))
    return seen[0]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def dashboard(settings: Settings) -> AdminOnly:
    return AdminOnly(_inner, settings)


def test_dashboard_refuses_anonymous_requests(dashboard: AdminOnly) -> None:
    assert _status(dashboard, None) == "401 Unauthorized"


@pytest.mark.parametrize("role", ["manager", "scheduler", "frontdesk", "user"])
def test_dashboard_refuses_non_admin_tokens(dashboard: AdminOnly, role: str) -> None:
    assert _status(dashboard, f"Bearer {token([role])}") == "401 Unauthorized"


def test_dashboard_accepts_an_admin_bearer_token(dashboard: AdminOnly) -> None:
    assert _status(dashboard, f"Bearer {token(['admin'])}") == "200 OK"


def test_dashboard_accepts_an_admin_token_as_basic_password(dashboard: AdminOnly) -> None:
    assert _status(dashboard, _basic("anyone", token(["admin"]))) == "200 OK"


async def test_dashboard_accepts_admin_credentials_only(
    dashboard: AdminOnly, settings: Settings
) -> None:
    await create_staff(settings.database_url, "boss@example.org", "s3cret-pass", ["admin"])
    await create_staff(settings.database_url, "desk@example.org", "s3cret-pass", ["frontdesk"])

    def check(user: str, password: str) -> str:
        return _status(dashboard, _basic(user, password))

    assert await asyncio.to_thread(check, "boss@example.org", "s3cret-pass") == "200 OK"
    assert await asyncio.to_thread(check, "boss@example.org", "wrong") == "401 Unauthorized"
    assert await asyncio.to_thread(check, "desk@example.org", "s3cret-pass") == "401 Unauthorized"
