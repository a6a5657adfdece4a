"""Tweet records for a request: the Redis cache first, the misses in one batched Neo4j query."""

import logging
from collections.abc import Sequence

from redis.exceptions import RedisError

from feeds import tweet_cache
from graph import tweets
from graph.records import TweetRecord
from resolvers.clients import Clients

logger = logging.getLogger("chirp.hydration")


async def load_tweets(clients: Clients, ids: Sequence[int]) -> dict[int, TweetRecord]:
    """A Redis outage slows reads down to Neo4j's pace; it does not fail them."""
    try:
        found = await tweet_cache.get_many(clients.redis, clients.keys, ids)
    except RedisError:
        logger.warning("tweet cache unavailable; reading from Neo4j", exc_info=True)
        return await tweets.tweets_by_ids(clients.neo4j, ids)
    missing = [tweet_id for tweet_id in ids if tweet_id not in found]
    if missing:
        loaded = await tweets.tweets_by_ids(clients.neo4j, missing)
        found.update(loaded)
        try:
            await tweet_cache.put_many(
                clients.redis, clients.keys, list(loaded.values()), clients.settings.tweet_cache_ttl_seconds
            )
        except RedisError:
            logger.warning("tweet cache unavailable; not storing", exc_info=True)
    return found


async def forget_tweets(clients: Clients, ids: Sequence[int]) -> None:
    """After a change to these tweets (text, counts, existence), their cached records go."""
    await tweet_cache.invalidate(clients.redis, clients.keys, ids)
