"""Typed keys for what the application holds for its lifetime."""

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from common.pii import PiiKeys
from common.settings import Settings
from db.staff import StaffAccounts
from web.idempotency import IdempotencyStore
from web.ratelimit import RateLimiter
from web.replies import Replies
from web.shared_redis import SharedRedis

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
REDIS = web.AppKey("redis", Redis)
SHARED_REDIS = web.AppKey("shared_redis", SharedRedis)
"""The hot path's multiplexed connection (see web/shared_redis.py)."""
PII = web.AppKey("pii", PiiKeys)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
LIMITER = web.AppKey("limiter", RateLimiter)
ACCOUNTS = web.AppKey("accounts", StaffAccounts)
REPLIES = web.AppKey("replies", Replies)
ROUTE_TABLE = web.AppKey("route_table", list)
