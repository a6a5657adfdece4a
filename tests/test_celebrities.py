"""A reader's cached set of followed celebrities is filled under a lease: a fill that read before
a follow, an unfollow or a threshold crossing dropped the set is not stored."""

from redis.asyncio import Redis

from feeds import celebrities, timeline
from feeds.fanout import followed_sets
from feeds.keys import Keys
from feeds.packed import Window
from settings import Settings


async def test_a_fill_that_raced_a_drop_is_not_stored(redis: Redis, settings: Settings) -> None:
    keys = Keys(settings.redis_prefix)
    token = await celebrities.lease_followed(redis, keys, 7)  # the reader reads Neo4j: follows 1
    await timeline.drop(redis, followed_sets(keys, [7]))  # the worker: 7 just followed celebrity 2
    assert not await celebrities.store_followed(redis, keys, 7, [1], token, 60)
    assert await timeline.read_windows(redis, [keys.celebrities_followed(7)]) == [None]

    token = await celebrities.lease_followed(redis, keys, 7)
    assert await celebrities.store_followed(redis, keys, 7, [2, 1], token, 60)
    assert await timeline.read_windows(redis, [keys.celebrities_followed(7)]) == [Window((2, 1), False)]
    assert not await redis.exists(keys.celebrities_followed_lease(7))
