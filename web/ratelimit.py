"""Per-caller budgets kept in Redis, so every web process spends from the same one.

Budgets use GCRA (the generic cell rate algorithm): one Redis key per caller
holding a "theoretical arrival time", updated by one script call, so a limited
request costs a single round trip. A budget of `N/period` allows a burst of N
and refills continuously at N per period.
"""

import math
from dataclasses import dataclass

from limits import parse
from redis.asyncio import Redis

from domain.errors import ApiError, ErrorCode

# Times are integer microseconds (exact in Lua's doubles). Returns {allowed, remaining,
# µs until the budget is full again, µs until the next request fits}.
_GCRA = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if allow_at > now then
  return {0, 0, tat - now, allow_at - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl_ms)
return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now, 0}
"""


@dataclass(frozen=True)
class Budget:
    name: str
    amount: int
    period_us: int

    @classmethod
    def parse(cls, name: str, spec: str) -> "Budget":
        item = parse(spec)
        return cls(name, item.amount, item.get_expiry() * 1_000_000)

    @property
    def interval_us(self) -> int:
        return math.ceil(self.period_us / self.amount)


class RateLimiter:
    def __init__(self, redis: Redis, budgets: dict[str, str]) -> None:
        self._script = redis.register_script(_GCRA)
        self._budgets = {name: Budget.parse(name, spec) for name, spec in budgets.items()}

    async def hit(self, budget_name: str, caller: str) -> dict[str, str]:
        """Spends one unit of `caller`'s budget; returns the RateLimit headers or raises 429."""
        budget = self._budgets[budget_name]
        allowed, remaining, reset_us, retry_us = await self._script(
            keys=[f"ratelimit:{budget.name}:{caller}"], args=[budget.interval_us, budget.period_us]
        )
        headers = {
            "RateLimit-Limit": str(budget.amount),
            "RateLimit-Remaining": str(max(0, remaining)),
            "RateLimit-Reset": str(math.ceil(int(reset_us) / 1_000_000)),
        }
        if not allowed:
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                "too many requests, retry later",
                {"limit": f"{budget.amount} per {budget.period_us // 1_000_000} s"},
                headers={**headers, "Retry-After": str(max(1, math.ceil(int(retry_us) / 1e6)))},
            )
        return headers
