"""What the hybrid home timeline must hold, each against the pull query computed from Neo4j."""

import asyncio
from collections.abc import Iterator
from typing import cast

import pytest
from starlette.testclient import TestClient

import feeds.client
import graph.driver
from app import create_app
from feeds.keys import Keys
from feeds.packed import unpack
from graph.timeline import pull_home_timeline
from resolvers.ids import from_global_id, to_global_id
from settings import Settings
from tests.conftest import Account, Api, drain, forget_prefix, isolated_settings

HOME = """
query($first: Int, $after: String) {
  homeTimeline(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}
"""
RETWEET = "mutation($id: ID!) { retweet(tweetId: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) { deleted } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { id } }"


def home(api: Api, viewer: Account, page_size: int = 3) -> list[str]:
    """The whole home timeline, paged to the end."""
    ids: list[str] = []
    after = None
    while True:
        connection = api.data(HOME, {"first": page_size, "after": after}, viewer.token)["homeTimeline"]
        ids += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return ids
        after = connection["pageInfo"]["endCursor"]


def oracle(settings: Settings, viewer: Account) -> list[str]:
    async def pull() -> list[str]:
        driver = graph.driver.open_driver(settings)
        try:
            page = await pull_home_timeline(driver, from_global_id(viewer.id, "User"), None, 10_000)
        finally:
            await driver.close()
        return [to_global_id("Tweet", tweet_id) for _, tweet_id in page.items]

    return asyncio.run(pull())


def cached_window(settings: Settings, viewer: Account) -> tuple[int, ...] | None:
    async def read() -> bytes | None:
        redis = feeds.client.open_redis(settings)
        try:
            key = Keys(settings.redis_prefix).timeline(from_global_id(viewer.id, "User"))
            return cast(bytes | None, await redis.get(key))
        finally:
            await redis.aclose()

    value = asyncio.run(read())
    return None if value is None else unpack(value).ids


def forget_timeline(settings: Settings, viewer: Account) -> None:
    async def forget() -> None:
        redis = feeds.client.open_redis(settings)
        try:
            await redis.delete(Keys(settings.redis_prefix).timeline(from_global_id(viewer.id, "User")))
        finally:
            await redis.aclose()

    asyncio.run(forget())


@pytest.fixture
def small_cap() -> Iterator[Settings]:
    settings = isolated_settings(timeline_cap=5, celebrity_threshold=3)
    yield settings
    asyncio.run(forget_prefix(settings))


@pytest.fixture
def api5(small_cap: Settings) -> Iterator[Api]:
    with TestClient(create_app(small_cap)) as client:
        yield Api(client)


def test_read_your_own_writes_before_any_worker(api: Api, settings: Settings) -> None:
    me, friend = api.sign_up(), api.sign_up()
    api.follow(me, friend)
    api.tweet(friend, "from a friend")
    drain(settings)
    assert len(home(api, me)) == 1  # my cached timeline exists now
    mine = api.tweet(me, "my own words")
    assert home(api, me)[0] == mine
    assert cached_window(settings, me) is not None
    assert from_global_id(mine, "Tweet") in (cached_window(settings, me) or ())


def test_no_empty_feed_for_a_new_or_returning_user(api: Api, settings: Settings) -> None:
    reader, author = api.sign_up(), api.sign_up()
    for n in range(4):
        api.tweet(author, f"before the follow {n}")
    api.follow(reader, author)
    # No worker has run and the reader never read: nothing is cached for them.
    assert cached_window(settings, reader) is None
    assert home(api, reader) == oracle(settings, reader) != []
    forget_timeline(settings, reader)  # a cache loss, as after a Redis restart
    assert home(api, reader) == oracle(settings, reader)


def test_no_wall_at_the_cap(api5: Api, small_cap: Settings) -> None:
    reader, first, second = api5.sign_up(), api5.sign_up(), api5.sign_up()
    api5.follow(reader, first)
    api5.follow(reader, second)
    for n in range(7):
        api5.tweet(first, f"first {n}")
        api5.tweet(second, f"second {n}")
    drain(small_cap)
    everything = home(api5, reader, page_size=3)
    assert len(everything) == 14
    assert len(set(everything)) == 14
    assert everything == oracle(small_cap, reader)
    window = cached_window(small_cap, reader)
    assert window is not None
    assert len(window) == 5  # the cache keeps 5; the other 9 came from Neo4j, seamlessly


def test_deleted_tweet_disappears_at_once(api: Api, settings: Settings) -> None:
    reader, author = api.sign_up(), api.sign_up()
    api.follow(reader, author)
    doomed = api.tweet(author, "soon gone")
    kept = api.tweet(author, "stays")
    drain(settings)
    assert home(api, reader) == [kept, doomed]
    api.data(DELETE, {"id": doomed}, author.token)
    assert home(api, reader) == [kept]  # before the worker runs
    assert from_global_id(doomed, "Tweet") in (cached_window(settings, reader) or ())
    drain(settings)
    assert from_global_id(doomed, "Tweet") not in (cached_window(settings, reader) or ())


def test_a_tweet_and_its_retweets_show_once(api: Api, settings: Settings) -> None:
    reader, author, fan, other_fan = api.sign_up(), api.sign_up(), api.sign_up(), api.sign_up()
    for followee in (author, fan, other_fan):
        api.follow(reader, followee)
    home(api, reader)
    original = api.tweet(author, "worth retweeting")
    api.data(RETWEET, {"id": original}, fan.token)
    api.data(RETWEET, {"id": original}, other_fan.token)
    stranger_tweet = api.tweet(api.sign_up(), "from someone the reader does not follow")
    first_retweet = api.data(RETWEET, {"id": stranger_tweet}, fan.token)["retweet"]["id"]
    api.data(RETWEET, {"id": stranger_tweet}, other_fan.token)
    drain(settings)
    timeline = home(api, reader)
    assert timeline == [first_retweet, original]
    assert timeline == oracle(settings, reader)


def test_replies_show_to_those_who_follow_both(api: Api, settings: Settings) -> None:
    alice, bob, both, only_bob = api.sign_up(), api.sign_up(), api.sign_up(), api.sign_up()
    api.follow(both, alice)
    api.follow(both, bob)
    api.follow(only_bob, bob)
    api.follow(alice, bob)
    for reader in (alice, bob, both, only_bob):
        home(api, reader)
    question = api.tweet(alice, "a question")
    answer = api.tweet(bob, "an answer", inReplyToId=question)
    drain(settings)
    assert answer in home(api, both)
    assert answer not in home(api, only_bob)
    assert answer in home(api, alice)  # alice follows bob, and bob answered her
    assert answer in home(api, bob)
    for reader in (alice, bob, both, only_bob):
        assert home(api, reader) == oracle(settings, reader)


def test_crossing_the_celebrity_threshold_both_ways(api5: Api, small_cap: Settings) -> None:
    star = api5.sign_up()
    fans = [api5.sign_up() for _ in range(3)]
    api5.follow(fans[0], star)
    api5.follow(fans[1], star)
    for fan in fans:
        home(api5, fan)
    api5.tweet(star, "while ordinary")
    drain(small_cap)
    api5.follow(fans[2], star)  # the third follower: a celebrity now (threshold 3)
    drain(small_cap)
    famous = api5.tweet(star, "while famous")
    api5.tweet(star, "still famous")
    drain(small_cap)
    # Pulled at read time from the star's shared list, never pushed into a fan's timeline.
    assert from_global_id(famous, "Tweet") not in (cached_window(small_cap, fans[0]) or ())
    for fan in fans:
        assert home(api5, fan) == oracle(small_cap, fan)
        assert len(home(api5, fan)) == 3
    api5.data(UNFOLLOW, {"id": star.id}, fans[2].token)  # ordinary again
    drain(small_cap)
    api5.tweet(star, "ordinary again")
    drain(small_cap)
    for fan in fans:
        assert home(api5, fan) == oracle(small_cap, fan)
    assert len(home(api5, fans[0])) == 4
    assert home(api5, fans[2]) == []
