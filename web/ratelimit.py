"""Fixed budgets per caller, kept in Redis so every web process shares them."""

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from domain.errors import ApiError, ErrorCode


@dataclass(frozen=True)
class Budget:
    name: str
    limit: RateLimitItem


def _storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class RateLimiter:
    def __init__(self, redis_url: str, budgets: dict[str, str]) -> None:
        self._storage = RedisStorage(_storage_uri(redis_url), implementation="redispy")
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._budgets = {name: Budget(name, parse(spec)) for name, spec in budgets.items()}

    async def hit(self, budget_name: str, caller: str) -> dict[str, str]:
        """Spends one unit of `caller`'s budget; returns the RateLimit headers or raises 429."""
        budget = self._budgets[budget_name]
        allowed = await self._limiter.hit(budget.limit, budget.name, caller)
        stats = await self._limiter.get_window_stats(budget.limit, budget.name, caller)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        headers = {
            "RateLimit-Limit": str(budget.limit.amount),
            "RateLimit-Remaining": str(stats.remaining),
            "RateLimit-Reset": str(reset),
        }
        if not allowed:
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                "too many requests, retry later",
                {"limit": str(budget.limit)},
                headers={**headers, "Retry-After": str(max(1, reset))},
            )
        return headers
