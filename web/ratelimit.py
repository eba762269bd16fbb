"""Per-caller budgets kept in Redis, so every web process spends from the same one.

Budgets use GCRA (the generic cell rate algorithm): one Redis key per caller
holding a "theoretical arrival time", updated by one script call, so a limited
request costs a single round trip. A budget of `N/period` allows a burst of N
and refills continuously at N per period.
"""

import math
from dataclasses import dataclass

from limits import parse

from domain.errors import ApiError, ErrorCode
from web.shared_redis import Script, SharedRedis

# Times are integer microseconds (exact in Lua's doubles). `spend` returns {allowed,
# remaining, µs until the budget is full again, µs until the next request fits}. It is a
# Lua function so that other scripts (idempotency's admission) can spend in the same call.
SPEND_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local function spend(key, interval, period)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - period
  if allow_at > now then
    return {0, 0, tat - now, allow_at - now}
  end
  redis.call('SET', key, string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
  return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now, 0}
end
"""
_HIT = Script(SPEND_LUA + "return spend(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))")


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

    def key(self, caller: str) -> str:
        return f"ratelimit:{self.name}:{caller}"

    def settle(self, spent: list[int]) -> dict[str, str]:
        """The RateLimit headers of a spend's result, or 429 when the budget was empty."""
        allowed, remaining, reset_us, retry_us = (int(v) for v in spent)
        headers = {
            "RateLimit-Limit": str(self.amount),
            "RateLimit-Remaining": str(max(0, remaining)),
            "RateLimit-Reset": str(math.ceil(reset_us / 1_000_000)),
        }
        if not allowed:
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                "too many requests, retry later",
                {"limit": f"{self.amount} per {self.period_us // 1_000_000} s"},
                headers={**headers, "Retry-After": str(max(1, math.ceil(retry_us / 1e6)))},
            )
        return headers


class RateLimiter:
    def __init__(self, redis: SharedRedis, budgets: dict[str, str]) -> None:
        self._redis = redis
        self._budgets = {name: Budget.parse(name, spec) for name, spec in budgets.items()}

    def budget(self, name: str) -> Budget:
        return self._budgets[name]

    async def hit(self, budget_name: str, caller: str) -> dict[str, str]:
        """Spends one unit of `caller`'s budget; returns the RateLimit headers or raises 429."""
        budget = self._budgets[budget_name]
        spent = await self._redis.run(
            _HIT, [budget.key(caller)], [budget.interval_us, budget.period_us]
        )
        return budget.settle(spent)
