"""The popular accounts every viewer's who-to-follow draws on: found by a scan of all accounts,
so kept here for everyone a while rather than found per request."""

import orjson
from redis.asyncio import Redis

from feeds.keys import Keys


async def popular(redis: Redis, keys: Keys) -> list[int] | None:
    value = await redis.get(keys.popular_accounts)
    return None if value is None else list(orjson.loads(value))


async def keep_popular(redis: Redis, keys: Keys, user_ids: list[int], ttl_seconds: int) -> None:
    await redis.set(keys.popular_accounts, orjson.dumps(user_ids), ex=ttl_seconds)
