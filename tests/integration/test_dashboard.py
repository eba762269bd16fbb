"""The Dramatiq dashboard answers admins only."""

import asyncio
import base64
import io
import socket
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import asyncpg
import pytest

from cli.commands import create_staff, find_staff
from cli.dashboard import AdminOnly, make_dashboard_server
from common.settings import Settings
from common.tokens import issue_staff_token
from tests.support.api import token


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
def dashboard(settings: Settings) -> Iterator[AdminOnly]:
    app = AdminOnly(_inner, settings)
    try:
        yield app
    finally:
        app.close()


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


def test_dashboard_password_attempts_are_limited(settings: Settings) -> None:
    app = AdminOnly(_inner, settings.model_copy(update={"rate_limit_login": "2/minute"}))
    try:
        statuses = [_status(app, _basic("boss@example.org", f"guess {i}")) for i in range(3)]
    finally:
        app.close()
    assert statuses == ["401 Unauthorized", "401 Unauthorized", "429 Too Many Requests"]


async def test_dashboard_takes_as_long_for_an_unknown_email_as_for_a_staff_one(
    dashboard: AdminOnly, settings: Settings
) -> None:
    await create_staff(settings.database_url, "boss@example.org", "s3cret-pass", ["admin"])

    def medians() -> tuple[float, float]:
        timings: dict[str, list[float]] = {"boss@example.org": [], "nobody@example.org": []}
        for attempt in range(5):  # taken in turns, so a swing in the machine's load hits both
            for user, taken in timings.items():
                started = time.perf_counter()
                _status(dashboard, _basic(user, f"wrong {attempt}"))
                taken.append(time.perf_counter() - started)
        staff, unknown = (statistics.median(taken) for taken in timings.values())
        return staff, unknown

    staff, unknown = await asyncio.to_thread(medians)
    assert 1 / 3 < unknown / staff < 3, f"staff {staff:.3f} s, unknown {unknown:.3f} s"


async def test_dashboard_stops_a_platform_token_of_a_deactivated_admin(
    dashboard: AdminOnly, settings: Settings, db: asyncpg.Connection
) -> None:
    await create_staff(settings.database_url, "boss@example.org", "s3cret-pass", ["admin"])
    account = await find_staff(settings.database_url, "boss@example.org")
    assert account is not None
    bearer = "Bearer " + issue_staff_token(settings.jwt_secret, settings.jwt_issuer, account, 60)
    assert await asyncio.to_thread(_status, dashboard, bearer) == "200 OK"
    await db.execute("UPDATE staff_accounts SET active = FALSE")
    deadline = time.monotonic() + 5
    while await asyncio.to_thread(_status, dashboard, bearer) == "200 OK":
        assert time.monotonic() < deadline, "the token still opens the dashboard after 5 s"
        await asyncio.sleep(0.1)


def test_an_idle_connection_does_not_block_other_clients(dashboard: AdminOnly) -> None:
    server = make_dashboard_server("127.0.0.1", 0, dashboard)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    port = server.server_address[1]
    try:
        with socket.create_connection(("127.0.0.1", port)) as idle:
            idle.sendall(b"GET / HTTP/1.1\r\n")  # and never finishes the request
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            assert refused.value.code == 401
    finally:
        server.shutdown()
        server.server_close()
