"""Typed keys for what the application holds for its lifetime."""

from aiohttp import web
from dramatiq import Broker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from common.pii import PiiKeys
from common.settings import Settings
from db.staff import StaffAccounts
from web.idempotency import IdempotencyStore
from web.ratelimit import RateLimiter
from web.shared_redis import SharedRedis
from workers.outcomes import OutcomeChannel

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
REDIS = web.AppKey("redis", Redis)
SHARED_REDIS = web.AppKey("shared_redis", SharedRedis)
"""The hot path's multiplexed connection (see web/shared_redis.py)."""
PII = web.AppKey("pii", PiiKeys)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
LIMITER = web.AppKey("limiter", RateLimiter)
ACCOUNTS = web.AppKey("accounts", StaffAccounts)
OUTCOMES = web.AppKey("outcomes", OutcomeChannel)
"""Where this process's queued commands are answered (see workers/outcomes.py)."""
BROKER = web.AppKey("broker", Broker)
"""Sends messages by task name (see workers/broker.py)."""
ROUTE_TABLE = web.AppKey("route_table", list)
