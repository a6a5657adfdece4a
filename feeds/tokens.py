"""Each user's token revocations, cached from Neo4j (graph/tokens.py) for the per-request check.

One hash per user: "generation" (tokens of an older generation are revoked: a password change
moves it on), "revoked:<token id>" for each token logged out, and "complete" once the hash holds
everything Neo4j had. Writes only ever add: the generation only grows and revocations are only
added, so a fill that read Neo4j before a revocation cannot undo it when it lands after it: no
lease is needed. A revocation written while the hash is absent leaves it incomplete, and the next
check fills it. The hash expires after a while, so that revocations whose Redis write was lost
(Redis down right after the Neo4j commit) take effect then at the latest.
"""

from collections.abc import Mapping

from redis.asyncio import Redis

MERGE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
redis.call('HSET', KEYS[1], 'generation', math.max(current, tonumber(ARGV[3])))
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'revoked:' .. ARGV[i], ARGV[i + 1])
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'complete', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[2])
elseif redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


async def merge(
    redis: Redis, key: str, generation: int, revoked: Mapping[str, int], ttl_seconds: int, *, complete: bool
) -> None:
    """Adds what Neo4j holds (complete: all of it, read for a fill) or what a write just added."""
    args: list[str | int] = ["1" if complete else "0", ttl_seconds, generation]
    for token_id, expires in revoked.items():
        args += [token_id, expires]
    await redis.register_script(MERGE)(keys=[key], args=args)
