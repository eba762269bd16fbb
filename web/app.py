"""The aiohttp application factory."""

from collections.abc import AsyncIterator

from aiohttp import web

from common.pii import PiiKeys
from common.redis_clients import async_client
from common.settings import Settings
from db.engine import create_engine
from db.staff import StaffAccounts
from web import cors
from web.availability_cache import AVAILABILITY_CACHE, AvailabilityCache
from web.idempotency import IdempotencyStore
from web.middlewares import request_context
from web.ratelimit import RateLimiter
from web.routes import (
    audit,
    availability,
    bookings,
    catalog,
    feeds,
    health,
    identity,
    manage,
    ops,
    pages,
    slots,
    staff,
    waitlist,
    webhooks,
)
from web.routing import MAX_BODY_BYTES, Route, add_routes
from web.shared_redis import SharedRedis
from web.state import (
    ACCOUNTS,
    BROKER,
    ENGINE,
    IDEMPOTENCY,
    LIMITER,
    OUTCOMES,
    PII,
    REDIS,
    ROUTE_TABLE,
    SETTINGS,
    SHARED_REDIS,
)
from workers.broker import build_broker
from workers.outcomes import OutcomeChannel

ROUTES: list[Route] = [
    *health.ROUTES,
    *ops.ROUTES,
    *identity.ROUTES,
    *catalog.ROUTES,
    *availability.ROUTES,
    *slots.ROUTES,
    *bookings.ROUTES,
    *staff.ROUTES,
    *audit.ROUTES,
    *waitlist.ROUTES,
    *manage.ROUTES,
    *webhooks.ROUTES,
    *feeds.ROUTES,
    *pages.ROUTES,
]


def require_settings(settings: Settings) -> None:
    missing = [
        name
        for name in ("database_url", "redis_url", "jwt_secret", "pii_key")
        if not getattr(settings, name)
    ]
    if missing:
        raise RuntimeError(f"settings missing: {', '.join(n.upper() for n in missing)}")


def create_app(settings: Settings) -> web.Application:
    require_settings(settings)
    app = web.Application(
        middlewares=[request_context, cors.preflight], client_max_size=MAX_BODY_BYTES
    )
    app[SETTINGS] = settings
    app[PII] = PiiKeys.parse(settings.pii_key)
    app[BROKER] = build_broker(settings)
    app[ROUTE_TABLE] = ROUTES
    app[bookings.LANES] = {}
    app.cleanup_ctx.append(_connections)
    add_routes(app, ROUTES)
    pages.add_static_routes(app)
    app.on_response_prepare.append(cors.add_headers)
    return app


async def _connections(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[ENGINE] = create_engine(settings.database_url)
    timeout = settings.redis_timeout_seconds
    app[REDIS] = async_client(
        settings.redis_url, timeout, decode_responses=True, max_connections=512
    )
    app[SHARED_REDIS] = SharedRedis(settings.redis_url, timeout)
    app[IDEMPOTENCY] = IdempotencyStore(
        app[REDIS],
        app[SHARED_REDIS],
        app[ENGINE],
        app[PII],
        ttl_seconds=settings.idempotency_ttl_seconds,
        pending_seconds=int(settings.booking_wait_seconds) + 60,
    )
    app[LIMITER] = RateLimiter(
        app[SHARED_REDIS],
        {
            "user_get": settings.rate_limit_user_get,
            "booking_post": settings.rate_limit_booking_post,
            "admin": settings.rate_limit_admin,
            "session_post": settings.rate_limit_session_post,
            "ip_get": settings.rate_limit_ip_get,
            "ip_booking_post": settings.rate_limit_ip_booking_post,
            "login": settings.rate_limit_login,
            "login_email": settings.rate_limit_login,
            "manage": settings.rate_limit_manage,
        },
    )
    app[ACCOUNTS] = StaffAccounts(app[ENGINE])
    app[OUTCOMES] = OutcomeChannel(app[REDIS])
    await app[OUTCOMES].start()
    app[AVAILABILITY_CACHE] = AvailabilityCache(settings.database_url)
    await app[AVAILABILITY_CACHE].start()
    yield
    await app[AVAILABILITY_CACHE].stop()
    await app[OUTCOMES].stop()
    await app[SHARED_REDIS].close()
    await app[REDIS].aclose()
    await app[ENGINE].dispose()
