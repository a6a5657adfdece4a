"""Automatic persisted queries (APQ): documents by their SHA-256, kept in Redis for every process.

At most `capacity` documents: registering one past that evicts the oldest, in the same script, so
that a client registering junk can only push out other documents, whose clients then send their
text again. All keys share the {apq} hash tag: one slot, one script.
"""

from redis.asyncio import Redis

from feeds.keys import Keys

REGISTER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local time = redis.call('TIME')
redis.call('ZADD', KEYS[2], tonumber(time[1]) * 1000000 + tonumber(time[2]), ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #popped, 2 do
    redis.call('HDEL', KEYS[1], popped[i])
  end
end
return 1
"""


async def lookup(redis: Redis, keys: Keys, digest: str) -> str | None:
    text = await redis.hget(keys.persisted_documents, digest)
    return text.decode() if isinstance(text, bytes) else text


async def register(redis: Redis, keys: Keys, digest: str, text: str, capacity: int) -> None:
    script = redis.register_script(REGISTER)
    await script(keys=[keys.persisted_documents, keys.persisted_order], args=[digest, text, capacity])
