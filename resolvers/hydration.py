"""Tweet and user records for a request: the Redis cache first, the misses in one batched Neo4j query.

A Redis outage slows these reads down to Neo4j's pace; it does not fail them.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from redis.exceptions import RedisError

from feeds.record_cache import RecordCache, tweet_cache, user_cache
from graph import tweets, users
from graph.records import TweetRecord, UserRecord
from resolvers.clients import Clients

logger = logging.getLogger("chirp.hydration")

R = TypeVar("R", TweetRecord, UserRecord)


async def cached(
    clients: Clients,
    cache: RecordCache[R],
    ids: Sequence[int],
    fetch: Callable[[Sequence[int]], Awaitable[dict[int, R]]],
) -> dict[int, R]:
    try:
        found = await cache.get_many(clients.redis, ids)
    except RedisError:
        logger.warning("record cache unavailable; reading from Neo4j", exc_info=True)
        return await fetch(ids)
    missing = [record_id for record_id in ids if record_id not in found]
    if missing:
        loaded = await fetch(missing)
        found.update(loaded)
        try:
            await cache.put_many(clients.redis, list(loaded.values()), clients.settings.record_cache_ttl_seconds)
        except RedisError:
            logger.warning("record cache unavailable; not storing", exc_info=True)
    return found


async def load_tweets(clients: Clients, ids: Sequence[int]) -> dict[int, TweetRecord]:
    return await cached(clients, tweet_cache(clients.keys.tweet), ids, lambda m: tweets.tweets_by_ids(clients.neo4j, m))


async def load_users(clients: Clients, ids: Sequence[int]) -> dict[int, UserRecord]:
    return await cached(clients, user_cache(clients.keys.user), ids, lambda m: users.users_by_ids(clients.neo4j, m))


async def forget_tweets(clients: Clients, ids: Sequence[int]) -> None:
    """After a change to these tweets (text, counts, existence), their cached records go."""
    await tweet_cache(clients.keys.tweet).invalidate(clients.redis, ids)


async def forget_users(clients: Clients, ids: Sequence[int]) -> None:
    """After a change to these users (profile, counts), their cached records go."""
    await user_cache(clients.keys.user).invalidate(clients.redis, ids)
