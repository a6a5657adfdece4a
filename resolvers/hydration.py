"""Tweet and user records and the viewer's flags for a request: the Redis caches first, the
misses in one batched Neo4j query.

A Redis outage slows these reads down to Neo4j's pace; it does not fail them. The pull engine
(the benchmark's baseline: the read path as it was before the hybrid engine) reads Neo4j only.

A mutation's answer reads fresh (fresh=True): from Neo4j, stored in the caches under the usual
lease. It must show what its write committed, and a cache its relay has not reached yet (Redis
back from an outage, the entry still in the outbox) may not; the caches are then right too.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from redis.exceptions import RedisError

from feeds import viewer_acts
from feeds.record_cache import RecordCache, following_cache, tweet_cache, user_cache
from feeds.viewer_acts import LIKED, RETWEETED, Acts
from graph import flags, follows, tweets, users
from graph.records import Following, Suggestions, TweetRecord, UserRecord
from graph.snowflake import first_id_at
from resolvers.clients import Clients

logger = logging.getLogger("chirp.hydration")

R = TypeVar("R", TweetRecord, UserRecord, Suggestions, Following)


async def cached(
    clients: Clients,
    cache: RecordCache[R],
    ids: Sequence[int],
    fetch: Callable[[Sequence[int]], Awaitable[dict[int, R]]],
    ttl_seconds: int | None = None,
    fresh: bool = False,
) -> dict[int, R]:
    """The records of ids: cached ones from Redis, the rest from Neo4j, stored under a lease for
    ttl_seconds (the record cache's setting by default). Fresh: all of them from Neo4j."""
    if clients.settings.timeline_engine == "pull":
        return await fetch(ids)
    try:
        found = {} if fresh else await cache.get_many(clients.redis, ids)
    except RedisError:
        logger.warning("record cache unavailable; reading from Neo4j", exc_info=True)
        return await fetch(ids)
    missing = [record_id for record_id in ids if record_id not in found]
    if missing:
        try:
            token = await cache.lease(clients.redis, missing)
        except RedisError:
            logger.warning("record cache unavailable; reading from Neo4j", exc_info=True)
            return found | await fetch(missing)
        loaded = await fetch(missing)
        found.update(loaded)
        try:
            ttl = clients.settings.record_cache_ttl_seconds if ttl_seconds is None else ttl_seconds
            await cache.put_many(clients.redis, list(loaded.values()), token, ttl)
        except RedisError:
            logger.warning("record cache unavailable; not storing", exc_info=True)
    return found


async def load_tweets(clients: Clients, ids: Sequence[int], fresh: bool) -> dict[int, TweetRecord]:
    cache = tweet_cache(clients.keys.tweet)
    return await cached(clients, cache, ids, lambda m: tweets.tweets_by_ids(clients.neo4j, m), fresh=fresh)


async def load_users(clients: Clients, ids: Sequence[int], fresh: bool) -> dict[int, UserRecord]:
    cache = user_cache(clients.keys.user)
    return await cached(clients, cache, ids, lambda m: users.users_by_ids(clients.neo4j, m), fresh=fresh)


async def load_following(clients: Clients, ids: Sequence[int], fresh: bool) -> dict[int, Following]:
    """Each user's follow list, newest first; dropped on every follow and unfollow of theirs."""

    async def fetch(missing: Sequence[int]) -> dict[int, Following]:
        return {
            user_id: Following(user_id, tuple(await follows.following_newest_first(clients.neo4j, user_id)))
            for user_id in missing
        }

    return await cached(clients, following_cache(clients.keys.following), ids, fetch, fresh=fresh)


async def load_flags(
    clients: Clients, viewer_id: int, subject_ids: Sequence[int], fresh: bool
) -> dict[int, tuple[bool, bool]]:
    """{subject: (liked, retweeted)} by the viewer: recent subjects from the viewer's cached acts
    (filled from Neo4j when absent, or fresh), older ones from Neo4j."""
    if clients.settings.timeline_engine == "pull":
        return await flags.viewer_flags(clients.neo4j, viewer_id, subject_ids)
    try:
        acts = None if fresh else await viewer_acts.read(clients.redis, clients.keys, viewer_id, subject_ids)
        if acts is None:
            acts = await fill_acts(clients, viewer_id)
    except RedisError:
        logger.warning("viewer acts cache unavailable; reading from Neo4j", exc_info=True)
        return await flags.viewer_flags(clients.neo4j, viewer_id, subject_ids)
    found = {subject: acts.flags(subject) for subject in subject_ids if acts.covers(subject)}
    older = [subject for subject in subject_ids if not acts.covers(subject)]
    if older:
        found.update(await flags.viewer_flags(clients.neo4j, viewer_id, older))
    return found


async def fill_acts(clients: Clients, viewer_id: int) -> Acts:
    """The viewer's acts on the last days' tweets, read from Neo4j and cached (see feeds/viewer_acts.py)."""
    settings = clients.settings
    token = await viewer_acts.begin_fill(clients.redis, clients.keys, viewer_id)
    since = first_id_at(int(time.time() * 1000) - settings.viewer_acts_days * 86_400_000)
    found = await flags.acts_since(clients.neo4j, viewer_id, since)
    acts = Acts(
        since=since,
        bits={subject: LIKED * liked + RETWEETED * retweeted for subject, (liked, retweeted) in found.items()},
    )
    await viewer_acts.complete_fill(
        clients.redis, clients.keys, viewer_id, token, acts, settings.viewer_acts_ttl_seconds
    )
    return acts
