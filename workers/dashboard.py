"""`python -m workers.dashboard`: the Dramatiq dashboard, for admins only.

Served on `HTTP_HOST`:`DASHBOARD_PORT`. A request passes with an admin bearer
token, or HTTP Basic with an admin's email and password (or any user name and
an admin token as the password, handy in a browser).
"""

import asyncio
import base64
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from dramatiq_dashboard import DashboardApp

from common.lifeline import stop_with_supervisor
from common.logging import configure_logging
from common.settings import Settings, get_settings
from domain.errors import ApiError
from domain.roles import Permission, allows
from web.identity import verify_token
from workers.broker import broker

CREDENTIAL_CACHE_SECONDS = 60
_hasher = PasswordHasher()


class AdminOnly:
    """WSGI middleware refusing everyone but admins with 401."""

    def __init__(self, app: Callable, settings: Settings) -> None:
        self._app = app
        self._settings = settings
        self._recent: dict[str, float] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self._allowed(environ.get("HTTP_AUTHORIZATION", "")):
            return self._app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Basic realm="dramatiq"'), ("Content-Type", "text/plain")],
        )
        return [b"admin token or credentials required\n"]

    def _allowed(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return self._admin_token(value)
        if scheme.lower() != "basic":
            return False
        if self._recent.get(header, 0) > time.monotonic():
            return True
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        ok = self._admin_token(password) or asyncio.run(self._admin_password(user, password))
        if ok:
            self._recent[header] = time.monotonic() + CREDENTIAL_CACHE_SECONDS
        return ok

    def _admin_token(self, token: str) -> bool:
        try:
            identity = verify_token(
                f"Bearer {token}", self._settings.jwt_secret, self._settings.jwt_issuer
            )
        except ApiError:
            return False
        return allows(identity.roles, Permission.DASHBOARD)

    async def _admin_password(self, email: str, password: str) -> bool:
        conn = await asyncpg.connect(self._settings.database_url)
        try:
            row = await conn.fetchrow(
                "SELECT password_hash FROM staff_accounts"
                " WHERE email = $1 AND active AND 'admin' = ANY(roles)",
                email.strip().lower(),
            )
        finally:
            await conn.close()
        if row is None:
            return False
        try:
            return _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return False


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    stop_with_supervisor()
    app = AdminOnly(DashboardApp(broker=broker, prefix=""), settings)
    with make_server(
        settings.http_host, settings.dashboard_port, app, handler_class=_QuietHandler
    ) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
