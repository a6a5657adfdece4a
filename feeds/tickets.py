"""Open upload tickets (createMediaUpload), per user: a viewer holds at most so many at once.

One sorted set per user, each ticket scored by its expiry; expired tickets leave it as soon as
the next ticket is asked for. In the user's hash-tag slot, like their budgets.
"""

from redis.asyncio import Redis

OPEN = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.ceil((tonumber(oldest[2]) - now) / 1000000)}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]) * 1000000, ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 1000)
return {1, 0}
"""


async def open_ticket(redis: Redis, key: str, ticket: int, lifetime_seconds: int, most: int) -> float:
    """Records the ticket; 0 when it was, else the seconds until the oldest open ticket expires."""
    opened, wait = await redis.register_script(OPEN)(keys=[key], args=[ticket, lifetime_seconds, most])
    return 0.0 if opened else float(max(1, wait))


async def close_ticket(redis: Redis, key: str, ticket: int) -> None:
    await redis.zrem(key, ticket)
