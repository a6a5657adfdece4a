"""The record cache's fill leases: a fill that read Neo4j before a change cannot put the old
record back after the change dropped it."""

from redis.asyncio import Redis

from feeds.keys import Keys
from feeds.leases import LEASE_SECONDS
from feeds.record_cache import suggestions_cache, user_cache
from graph.records import UserRecord
from settings import Settings


def user(followers: int) -> UserRecord:
    return UserRecord(
        id=1,
        handle="ann",
        display_name="Ann",
        bio="",
        avatar_media_id=None,
        discoverable=True,
        follower_count=followers,
        following_count=0,
        tweet_count=0,
    )


async def test_a_fill_that_raced_a_change_is_not_stored(redis: Redis, settings: Settings) -> None:
    cache = user_cache(Keys(settings.redis_prefix).user)
    token = await cache.lease(redis, [1])  # a reader misses, then reads Neo4j: 0 followers
    await cache.invalidate(redis, [1])  # meanwhile a follow commits and drops the record
    await cache.put_many(redis, [user(0)], token, 60)
    assert await cache.get_many(redis, [1]) == {}

    token = await cache.lease(redis, [1])  # the next reader reads Neo4j after the follow
    await cache.put_many(redis, [user(1)], token, 60)
    assert await cache.get_many(redis, [1]) == {1: user(1)}
    assert 0 < await redis.ttl(cache.key(1)) <= 60
    assert not await redis.exists(cache.lease_key(1))


async def test_one_reader_fills_a_record_at_a_time(redis: Redis, settings: Settings) -> None:
    cache = user_cache(Keys(settings.redis_prefix).user)
    first = await cache.lease(redis, [1])
    second = await cache.lease(redis, [1])
    await cache.put_many(redis, [user(5)], second, 60)
    assert await cache.get_many(redis, [1]) == {}
    await cache.put_many(redis, [user(5)], first, 60)
    assert await cache.get_many(redis, [1]) == {1: user(5)}


async def test_a_cache_whose_fills_are_slow_holds_its_leases_longer(redis: Redis, settings: Settings) -> None:
    """A fill stored after its lease ran out is lost: who-to-follow lists take seconds to compute,
    records milliseconds to read."""
    keys = Keys(settings.redis_prefix)
    records, lists = user_cache(keys.user), suggestions_cache(keys.suggestions)
    await records.lease(redis, [1])
    await lists.lease(redis, [1])
    assert 0 < await redis.ttl(records.lease_key(1)) <= LEASE_SECONDS < await redis.ttl(lists.lease_key(1))
