"""Per-caller budgets kept in Redis, so every web process spends from the same one.

Budgets use GCRA (the generic cell rate algorithm): one Redis key per caller
holding a "theoretical arrival time", updated by one script call, so a limited
request costs a single round trip, however many budgets it spends (a visitor's
session and its IP address). A budget of `N/period` allows a burst of N and
refills continuously at N per period.

Replies carry the contract's `RateLimit-Limit`, `-Remaining` and `-Reset` of the
budget closest to empty, and the IETF draft's (draft-ietf-httpapi-ratelimit-headers)
`RateLimit-Policy` listing every budget spent and `RateLimit` for that closest one.
"""

import math
from dataclasses import dataclass

from limits import parse

from common import keys
from domain.errors import ErrorCode
from web.errors import ApiError
from web.shared_redis import Script, SharedRedis

# Times are integer microseconds (exact in Lua's doubles). `spend_all(first_key, first_arg)`
# spends one unit from each budget KEYS[first_key..], whose interval and period are the
# ARGV pairs from `first_arg` on, or from none of them when one is empty. For each budget
# it returns {allowed, remaining, µs until the budget is full again, µs until the next
# request fits}. It is a Lua function so that other scripts (idempotency's admission) can
# spend in the same call.
SPEND_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local function spend_all(first_key, first_arg)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
  local results, tats, allowed = {}, {}, true
  for i = first_key, #KEYS do
    local arg = first_arg + 2 * (i - first_key)
    local interval, period = tonumber(ARGV[arg]), tonumber(ARGV[arg + 1])
    local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or now), now)
    local new_tat = tat + interval
    local allow_at = new_tat - period
    if allow_at > now then
      allowed = false
      results[#results + 1] = {0, 0, tat - now, allow_at - now}
    else
      local left = math.floor((period - (new_tat - now)) / interval)
      results[#results + 1] = {1, left, new_tat - now, 0}
    end
    tats[i] = new_tat
  end
  if allowed then
    for i = first_key, #KEYS do
      local ttl = math.ceil((tats[i] - now) / 1000)
      redis.call('SET', KEYS[i], string.format('%d', tats[i]), 'PX', ttl)
    end
  end
  return results
end
"""
_SPEND = Script(SPEND_LUA + "return spend_all(1, 1)")


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
        return keys.budget(self.name, caller)

    @property
    def policy(self) -> str:
        """This budget as an item of the draft's `RateLimit-Policy` field."""
        return f'"{self.name}";q={self.amount};w={self.period_us // 1_000_000}'


Spend = tuple[Budget, str]
"""A budget and the caller (`sub:…`, `ip:…`) it is spent for."""


def budget_keys(spends: list[Spend]) -> list[str]:
    return [budget.key(caller) for budget, caller in spends]


def budget_args(spends: list[Spend]) -> list[int]:
    return [value for budget, _ in spends for value in (budget.interval_us, budget.period_us)]


def settle(spends: list[Spend], spent: list[list[int]]) -> dict[str, str]:
    """The RateLimit headers of a spend's result, or 429 when a budget was empty.

    The headers speak of the budget that refused, else of the one with the fewest left.
    """
    if not spends:
        return {}
    results = [
        (budget, *(int(v) for v in result))
        for (budget, _), result in zip(spends, spent, strict=True)
    ]
    budget, allowed, remaining, reset_us, retry_us = min(results, key=lambda r: (r[1], r[2]))
    remaining = max(0, remaining)
    reset = math.ceil(reset_us / 1_000_000)
    retry_after = max(1, math.ceil(retry_us / 1_000_000))
    headers = {
        "RateLimit-Limit": str(budget.amount),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(reset),
        "RateLimit-Policy": ", ".join(b.policy for b, _ in spends),
        "RateLimit": f'"{budget.name}";r={remaining};t={reset if allowed else retry_after}',
    }
    if not allowed:
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            "too many requests, retry later",
            {"limit": f"{budget.amount} per {budget.period_us // 1_000_000} s"},
            headers={**headers, "Retry-After": str(retry_after)},
        )
    return headers


class RateLimiter:
    def __init__(self, redis: SharedRedis, budgets: dict[str, str]) -> None:
        self._redis = redis
        self._budgets = {name: Budget.parse(name, spec) for name, spec in budgets.items()}

    def budget(self, name: str) -> Budget:
        return self._budgets[name]

    async def spend(self, spends: list[Spend]) -> dict[str, str]:
        """Spends one unit of every budget, or none; returns the RateLimit headers or raises 429."""
        if not spends:
            return {}
        spent = await self._redis.run(_SPEND, budget_keys(spends), budget_args(spends))
        return settle(spends, spent)
