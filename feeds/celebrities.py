"""Celebrities: authors whose tweets are pulled at read time, from one cached list each."""

from collections.abc import Sequence

from redis.asyncio import Redis

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


async def store_followed(redis: Redis, keys: Keys, user_id: int, celebrity_ids: Sequence[int], ttl: int) -> None:
    await redis.set(keys.celebrities_followed(user_id), pack(tuple(celebrity_ids), truncated=False), ex=ttl)
