"""`python -m cli.dashboard`: the Dramatiq dashboard, for admins only.

Served on `HTTP_HOST`:`DASHBOARD_PORT` by a threaded server: each connection has
a thread of its own, so an idle or slow client holds up only itself. A request
passes with an admin bearer token, or HTTP Basic with an admin's email and password
(or any user name and an admin token as the password, handy in a browser).

The rules are the API's: a token the platform issued stops working when its account
is deactivated, loses a role or changes its password; password attempts spend the
login budgets (`RATE_LIMIT_LOGIN` per IP and per email) and take as long for an
unknown email as for a staff member's.
"""

import asyncio
import base64
import hashlib
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from dramatiq_dashboard import DashboardApp

from common.lifeline import stop_with_supervisor
from common.logging import configure_logging
from common.passwords import verify_password
from common.settings import Settings, get_settings
from common.tokens import Identity, verify
from db.engine import create_engine
from db.staff import StaffAccounts, account_by_email
from domain.errors import Refused
from domain.roles import Permission, Role, allows
from domain.staff import StaffAccount, credential
from web.clientip import client_address
from web.middlewares import is_unavailable
from web.ratelimit import RateLimiter
from web.shared_redis import SharedRedis
from workers.broker import build_broker
from workers.tasks import QUEUES

CREDENTIAL_CACHE_SECONDS = 60
CREDENTIAL_CACHE_SIZE = 1_000
IDLE_SECONDS = 30
"""A connection silent this long is closed, and its thread freed."""
T = TypeVar("T")


class _Background:
    """An event loop in a thread of its own, running the async parts (Postgres, Redis)
    for the server's threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class AdminOnly:
    """WSGI middleware refusing everyone but admins with 401."""

    def __init__(self, app: Callable, settings: Settings) -> None:
        self._app = app
        self._settings = settings
        self._timeout = 2 * settings.redis_timeout_seconds + 1
        self._background = _Background()
        self._engine = create_engine(settings.database_url, pool_size=2, max_overflow=2)
        self._redis = SharedRedis(settings.redis_url, settings.redis_timeout_seconds)
        login = settings.rate_limit_login
        self._limiter = RateLimiter(self._redis, {"login": login, "login_email": login})
        self._accounts = StaffAccounts(self._engine)
        self._recent: dict[bytes, tuple[Identity, float]] = {}
        """sha256 of a Basic header -> the identity its password proved, until when."""

    def close(self) -> None:
        self._background.run(self._redis.close(), self._timeout)
        self._background.run(self._engine.dispose(), self._timeout)
        self._background.close()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            allowed = self._allowed(environ)
        except Refused as error:  # RATE_LIMITED, the only one let through
            headers = [("Retry-After", error.headers.get("Retry-After", "60"))]
            return _plain(start_response, "429 Too Many Requests", headers, "retry later")
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return _plain(start_response, "503 Service Unavailable", [], "retry shortly")
        if allowed:
            return self._app(environ, start_response)
        headers = [("WWW-Authenticate", 'Basic realm="dramatiq"')]
        return _plain(
            start_response, "401 Unauthorized", headers, "admin token or credentials required"
        )

    def _allowed(self, environ: dict[str, Any]) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return self._admits(self._token_identity(value))
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except ValueError:
            return False
        identity = self._token_identity(password)
        if identity is None:
            identity = self._password_identity(environ, header, user, password)
        return self._admits(identity)

    def _admits(self, identity: Identity | None) -> bool:
        if identity is None or not allows(identity.roles, Permission.DASHBOARD):
            return False
        try:
            self._background.run(self._accounts.check(identity), self._timeout)
        except Refused:
            return False
        return True

    def _token_identity(self, token: str) -> Identity | None:
        try:
            return verify(token.strip(), self._settings.jwt_secret, self._settings.jwt_issuer)
        except Refused:
            return None

    def _password_identity(
        self, environ: dict[str, Any], header: str, email: str, password: str
    ) -> Identity | None:
        """The account an email and password prove, remembered for a while: a dashboard
        page makes many requests, and each check costs a slow hash on purpose."""
        digest = hashlib.sha256(header.encode()).digest()
        remembered = self._recent.get(digest)
        if remembered is not None and remembered[1] > time.monotonic():
            return remembered[0]
        email = email.strip().lower()
        self._spend_login(environ, email)
        account = self._background.run(self._account(email), self._timeout)
        if not verify_password(account.password_hash if account else None, password):
            return None
        assert account is not None
        identity = _identity(account)
        if len(self._recent) >= CREDENTIAL_CACHE_SIZE:
            self._recent.clear()
        self._recent[digest] = (identity, time.monotonic() + CREDENTIAL_CACHE_SECONDS)
        return identity

    def _spend_login(self, environ: dict[str, Any], email: str) -> None:
        address = client_address(
            environ.get("REMOTE_ADDR"),
            environ.get("HTTP_X_FORWARDED_FOR", ""),
            self._settings.trusted_proxies,
        )
        email_digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        spends = [
            (self._limiter.budget("login"), f"ip:{address}"),
            (self._limiter.budget("login_email"), f"email:{email_digest}"),
        ]
        self._background.run(self._limiter.spend(spends), self._timeout)

    async def _account(self, email: str) -> StaffAccount | None:
        async with self._engine.connect() as conn:
            return await account_by_email(conn, email)


def _identity(account: StaffAccount) -> Identity:
    """What a token issued to this account would prove."""
    roles = frozenset(Role(r) for r in account.roles if r in {role.value for role in Role})
    return Identity(
        account.id, roles, account=account.id, credential=credential(account.password_hash)
    )


def _plain(
    start_response: Callable, status: str, headers: list[tuple[str, str]], text: str
) -> Iterable[bytes]:
    start_response(status, [*headers, ("Content-Type", "text/plain")])
    return [f"{text}\n".encode()]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    timeout = IDLE_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_dashboard_server(host: str, port: int, app: Callable) -> WSGIServer:
    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    stop_with_supervisor()
    broker = build_broker(settings)
    for queue in QUEUES:  # no actor is declared here: name the queues for the dashboard
        broker.declare_queue(queue)
    app = AdminOnly(DashboardApp(broker=broker, prefix=""), settings)
    try:
        with make_dashboard_server(settings.http_host, settings.dashboard_port, app) as server:
            server.serve_forever()
    finally:
        app.close()


if __name__ == "__main__":
    main()
