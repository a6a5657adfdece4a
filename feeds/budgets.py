"""Rate limits: GCRA budgets in Redis, one atomic script call per check.

GCRA (the generic cell rate algorithm) keeps one number per budget: the theoretical arrival time
(TAT) of the next unit. A budget of `limit` units per `period` lets a client spend the whole
budget at once, then one unit every period / limit. A charge of n units is allowed when
TAT + n * period / limit - period <= now; the key expires once the budget is whole again. Times are
Redis's own (TIME), in microseconds, so that every app process agrees on them.

The request's charge also reads the standing of the caller's bearer token (see feeds/tokens.py):
both keys carry the user's hash tag, so one script call, in one cluster slot, does both. That keeps
the protection of an authenticated request to one Redis round trip.
"""

from dataclasses import dataclass

from redis.asyncio import Redis

from settings import Budget

# Returns {allowed, remaining, retry_after_us, reset_us}, or, when the token is not in good standing,
# {0, 0, 0, 0, standing} with standing 0 (the user's revocations are not cached) or -1 (revoked).
CHARGE = """
local standing = 1
if #KEYS == 2 then
  local state = redis.call('HMGET', KEYS[2], 'complete', 'generation', 'revoked:' .. ARGV[4])
  if not state[1] then
    standing = 0
  elseif tonumber(state[2]) > tonumber(ARGV[5]) or state[3] then
    standing = -1
  end
  if standing ~= 1 then return {0, 0, 0, 0, standing} end
end
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local interval = period / limit
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local new_tat = math.max(tat + cost * interval, now)
local allow_at = new_tat - period
if allow_at > now then
  return {0, math.floor((now - (tat - period)) / interval), math.ceil(allow_at - now), math.ceil(tat - now), 1}
end
if cost ~= 0 then
  if new_tat > now then
    redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
  else
    redis.call('DEL', KEYS[1])
  end
end
return {1, math.floor((now - allow_at) / interval), 0, math.ceil(new_tat - now), 1}
"""


@dataclass(frozen=True)
class Charge:
    """The outcome of spending from a budget."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until the refused charge would be allowed; 0 when allowed
    reset_after: float  # seconds until the budget is whole again

    @classmethod
    def unlimited(cls, budget: Budget) -> "Charge":
        """What a budget shows when it is not enforced (rate limits off, or Redis down)."""
        return cls(allowed=True, limit=budget.limit, remaining=budget.limit, retry_after=0.0, reset_after=0.0)


@dataclass(frozen=True)
class Admitted:
    """What admitting a request spent: from which budget (its policy name for the RateLimit
    headers), how many points, and the budget as it is now."""

    policy: str
    budget: Budget
    points: int
    charge: Charge


class TokenNotCached(Exception):
    """The user's token revocations are not in Redis: read them from Neo4j, cache them, charge again."""


class TokenRevoked(Exception):
    """The bearer token was revoked (log-out, or a password change since it was issued)."""


def charge_of(reply: list[int], budget: Budget) -> Charge:
    allowed, remaining, retry_after_us, reset_us, standing = reply
    if standing == 0:
        raise TokenNotCached
    if standing == -1:
        raise TokenRevoked
    return Charge(
        allowed=bool(allowed),
        limit=budget.limit,
        remaining=max(0, min(int(remaining), budget.limit)),
        retry_after=retry_after_us / 1_000_000,
        reset_after=max(0, reset_us) / 1_000_000,
    )


async def spend(
    redis: Redis, key: str, budget: Budget, cost: int, *, token: tuple[str, str, int] | None = None
) -> Charge:
    """Spends `cost` units (a negative cost gives them back) if the budget allows; cost 0 only reads it.

    token: (the user's token-state key, the token's id, its generation), checked first; it must carry
    the budget key's hash tag. Raises TokenNotCached or TokenRevoked instead of charging.
    """
    keys = [key] if token is None else [key, token[0]]
    token_args: list[str | int] = [] if token is None else [token[1], token[2]]
    reply = await redis.register_script(CHARGE)(
        keys=keys, args=[cost, budget.limit, budget.period * 1_000_000, *token_args]
    )
    return charge_of(reply, budget)
