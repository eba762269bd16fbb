"""Request context and error handling around every request.

Every response, including unknown routes and crashes, leaves with an
`X-Request-Id` and, on failure, the contract's error envelope; a stack trace
goes to the log, never to the client.
"""

import logging
import re
import time

import asyncpg.exceptions
import redis.exceptions
import sqlalchemy.exc
import structlog
from aiohttp import web

from common.ids import new_id
from common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from domain.errors import ErrorCode, Refused
from web.errors import ApiError
from web.responses import error_response

REQUEST_ID = web.RequestKey("request_id", str)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_MANAGE_TOKEN = re.compile(r"(/manage/)[^/]+")
_log = structlog.get_logger("web")
_access = structlog.get_logger("web.access")
_ACCESS_LEVEL = logging.getLogger("web.access")

_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    # Out of connections, memory or disk (SQLSTATE class 53): Postgres is there but cannot serve.
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


def is_unavailable(exc: BaseException | None) -> bool:
    """True when a dependency could not be reached, as opposed to refusing a query."""
    while exc is not None:
        if isinstance(exc, _CONNECTION_ERRORS):
            return True
        if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__
    return False


def request_id_of(request: web.Request) -> str:
    header = request.headers.get("X-Request-Id", "")
    return header if _SAFE_REQUEST_ID.match(header) else str(new_id())


def logged_path(path: str) -> str:
    """The path without a manage token (contract §9: a token is never logged)."""
    return _MANAGE_TOKEN.sub(r"\1[redacted]", path)


def _as_refusal(exc: BaseException) -> Refused:
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, web.HTTPException):
        code = _HTTP_CODES.get(exc.status, ErrorCode.BAD_REQUEST)
        message = "no such endpoint" if exc.status == 404 else exc.reason
        return ApiError(code, message)
    if is_unavailable(exc):
        _log.warning("dependency_unavailable", error=type(exc).__name__)
        return ApiError(ErrorCode.UNAVAILABLE, "a dependency is unavailable, retry shortly")
    _log.error("unhandled_error", exc_info=exc)
    return ApiError(ErrorCode.INTERNAL, "internal error")


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler) -> web.StreamResponse:
    request_id = request_id_of(request)
    request[REQUEST_ID] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await handler(request)
    except Exception as exc:  # every failure becomes the contract's envelope
        response = error_response(_as_refusal(exc), request_id)
    response.headers["X-Request-Id"] = request_id
    elapsed = time.perf_counter() - started
    route = _route_name(request)
    HTTP_REQUESTS.labels(request.method, route, str(response.status)).inc()
    HTTP_LATENCY.labels(request.method, route).observe(elapsed)
    if _ACCESS_LEVEL.isEnabledFor(logging.INFO):  # else structlog would still build the event
        _access.info(
            "request",
            method=request.method,
            path=logged_path(request.path),
            status=response.status,
            duration_ms=round(elapsed * 1000, 2),
        )
    return response
