"""Cross-origin access to the user API, for host pages that embed the booking widget.

Only `/v1/*` is shared, and only with the origins `CORS_ALLOWED_ORIGINS` names (none by
default; `*` allows any). The widget authenticates with a bearer token, never a cookie,
so credentials are not allowed. A preflight from another origin is refused with 403
and no CORS headers, so the browser stops before sending the request itself.
"""

from aiohttp import web

from domain.errors import ErrorCode
from web.errors import ApiError
from web.state import SETTINGS

SHARED_PREFIX = "/v1/"
ALLOW_METHODS = "GET, POST, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-Exposure-Variant"
EXPOSE_HEADERS = (
    "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset,"
    " Location, Idempotent-Replayed"
)
PREFLIGHT_MAX_AGE_SECONDS = 600


def allowed_origin(request: web.Request) -> str | None:
    """The request's `Origin` when it may read `/v1/*` replies, else None."""
    origin = request.headers.get("Origin")
    if origin is None or not request.path.startswith(SHARED_PREFIX):
        return None
    allowed = request.app[SETTINGS].cors_allowed_origins
    return origin if origin in allowed or "*" in allowed else None


@web.middleware
async def preflight(request: web.Request, handler) -> web.StreamResponse:
    """Answers `OPTIONS` preflights for `/v1/*` before routing (no route declares OPTIONS)."""
    is_preflight = (
        request.method == "OPTIONS"
        and request.path.startswith(SHARED_PREFIX)
        and "Access-Control-Request-Method" in request.headers
    )
    if not is_preflight:
        return await handler(request)
    if allowed_origin(request) is None:
        raise ApiError(ErrorCode.FORBIDDEN, "this origin may not call the API from a browser")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        },
    )


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Marks every `/v1/*` reply, errors included, as readable by an allowed origin."""
    if not request.path.startswith(SHARED_PREFIX):
        return
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    origin = allowed_origin(request)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
