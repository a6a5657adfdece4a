"""Celebrities: authors whose tweets are pulled at read time, from one cached list each.

Each reader's set of followed celebrities is cached too, filled under a lease: dropping the set
(a follow, an unfollow, a threshold crossing) drops the lease, and a fill that read before the
drop is not stored.
"""

from collections.abc import Sequence

from redis.asyncio import Redis

from feeds import leases
from feeds.keys import Keys
from feeds.packed import pack


async def members(redis: Redis, keys: Keys) -> set[int]:
    return {int(member) for member in await redis.smembers(keys.celebrities)}


async def is_member(redis: Redis, keys: Keys, author_id: int) -> bool:
    return bool(await redis.sismember(keys.celebrities, str(author_id)))


async def set_member(redis: Redis, keys: Keys, author_id: int, celebrity: bool) -> None:
    if celebrity:
        await redis.sadd(keys.celebrities, str(author_id))
    else:
        await redis.srem(keys.celebrities, str(author_id))


# KEYS: the followed set, its lease. ARGV: the token, the packed set, the TTL.
STORE_FOLLOWED = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""


async def lease_followed(redis: Redis, keys: Keys, user_id: int) -> str:
    """Takes the fill lease of the user's followed set; call before reading the celebrities and Neo4j."""
    return await leases.take(redis, [keys.celebrities_followed_lease(user_id)])


async def store_followed(
    redis: Redis, keys: Keys, user_id: int, celebrity_ids: Sequence[int], token: str, ttl: int
) -> bool:
    """Stores the set unless it was dropped since lease_followed."""
    script = redis.register_script(STORE_FOLLOWED)
    stored: int = await script(
        keys=[keys.celebrities_followed(user_id), keys.celebrities_followed_lease(user_id)],
        args=[token, pack(tuple(celebrity_ids), truncated=False), ttl],
    )
    return stored == 1
