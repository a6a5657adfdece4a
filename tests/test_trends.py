"""Trends against the real Redis (and Neo4j through the API). Time is moved, never waited for: the
counting and ranking functions take it as an argument. Times are near the real clock, since buckets
expire at real times (a bucket of two days ago keeps only its hours, as it would in production)."""

import asyncio
import itertools
import time

from redis.asyncio import Redis

import feeds.client
import graph.driver
from feeds import fanout, trends, worker
from feeds.events import Event
from feeds.fanout import Fanout
from feeds.keys import Keys
from feeds.trends import Use
from graph.snowflake import first_id_at
from settings import Settings
from tests.conftest import Api, drain

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
TRENDING = """query($first: Int, $window: Int) {
  trending(first: $first, windowMinutes: $window) { tag count accountCount score }
}"""

tweet_ids = itertools.count(1_000_000)
account_ids = itertools.count(1_000_000)


def new_accounts(count: int) -> list[int]:
    return [next(account_ids) for _ in range(count)]


async def post(redis: Redis, keys: Keys, tag: str, author: int, at_ms: int) -> Use:
    """A tweet using the tag, counted as the worker counts it when the event comes (at its time)."""
    use = Use(tweet_id=next(tweet_ids), author_id=author, tags=(tag,), at_ms=at_ms)
    await trends.count(redis, keys, use, now_ms=at_ms)
    return use


async def rank(redis: Redis, keys: Keys, now_ms: int) -> None:
    await trends.rank(redis, keys, now_ms, min_accounts=5, kept=100)


async def ranked(redis: Redis, keys: Keys, window: int) -> dict[str, trends.Trend]:
    return {trend.tag: trend for trend in await trends.top(redis, keys, window, 100)}


async def test_a_burst_of_six_new_accounts_trends_in_one_ranking_pass(settings: Settings, redis: Redis) -> None:
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    for offset, author in enumerate(new_accounts(6)):
        await post(redis, keys, "burst", author, now - 3 * MINUTE_MS + offset * 20_000)
    await rank(redis, keys, now + 1000)
    for window in trends.WINDOWS:
        found = await ranked(redis, keys, window)
        assert "burst" in found, window
        assert (found["burst"].uses, found["burst"].accounts) == (6, 6)
        assert found["burst"].score == (6 - 1) ** 2 / 1  # against the floor baseline of a tag never seen
    # Out of the 5-minute window once its uses are older, still in the longer ones.
    await rank(redis, keys, now + 5 * MINUTE_MS)
    assert "burst" not in await ranked(redis, keys, 5)
    assert "burst" in await ranked(redis, keys, 15)


async def test_five_accounts_are_not_enough_and_one_more_makes_it_trend(settings: Settings, redis: Redis) -> None:
    """The threshold: a tag needs 5 distinct accounts (above its floor baseline) in the window."""
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    authors = new_accounts(5)
    for author in authors[:4]:
        await post(redis, keys, "edge", author, now - MINUTE_MS)
    await rank(redis, keys, now)
    assert "edge" not in await ranked(redis, keys, 15)
    await post(redis, keys, "edge", authors[4], now - MINUTE_MS)
    await rank(redis, keys, now)
    assert (await ranked(redis, keys, 15))["edge"].accounts == 5


async def test_a_steady_high_baseline_tag_ranks_below_a_surging_one(settings: Settings, redis: Redis) -> None:
    """The steady tag has more uses and accounts now than the surging one, but it has had about as
    many at this hour every day of the past week; the surging one never had any."""
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    regulars = new_accounts(30)
    for day in range(1, trends.BASELINE_DAYS + 1):
        same_hour = (now - day * DAY_MS) // HOUR_MS * HOUR_MS
        for index, author in enumerate(regulars[:25]):
            await post(redis, keys, "steady", author, same_hour + index * 1000)
    for index, author in enumerate(regulars):
        await post(redis, keys, "steady", author, now - 30 * MINUTE_MS + index * 1000)
    for author in new_accounts(8):
        await post(redis, keys, "surging", author, now - 10 * MINUTE_MS)
    await rank(redis, keys, now)
    found = await ranked(redis, keys, 60)
    assert list(found) == ["surging", "steady"]
    assert (found["surging"].accounts, found["surging"].score) == (8, (8 - 1) ** 2 / 1)
    # By volume the steady tag would come first; against its usual 25 accounts it barely rises.
    assert (found["steady"].uses, found["steady"].accounts, found["steady"].score) == (30, 30, (30 - 25) ** 2 / 25)


async def test_one_account_using_a_tag_a_thousand_times_never_trends(settings: Settings, redis: Redis) -> None:
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    (spammer,) = new_accounts(1)
    for index in range(1000):
        await post(redis, keys, "spam", spammer, now - 4 * MINUTE_MS + index * 200)
    counted = 0  # every use is counted (in the one or two hours the 4 minutes span)
    for hour in {(now - 4 * MINUTE_MS) // HOUR_MS, now // HOUR_MS}:
        counted += int(await redis.hget(keys.trend_hour_uses(hour), "spam") or 0)
    assert counted == 1000
    for min_accounts in (5, 2):
        for window in trends.WINDOWS:
            assert not await trends.rank_window(redis, keys, now // MINUTE_MS, window, min_accounts), window
    await rank(redis, keys, now)
    for window in trends.WINDOWS:
        assert await ranked(redis, keys, window) == {}


async def test_a_deleted_tweets_use_is_discounted(settings: Settings, redis: Redis) -> None:
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    uses = [await post(redis, keys, "gone", author, now - 2 * MINUTE_MS) for author in new_accounts(6)]
    await rank(redis, keys, now)
    found = (await ranked(redis, keys, 60))["gone"]
    assert (found.uses, found.accounts) == (6, 6)
    assert await trends.discount(redis, keys, uses[0], now) == 1
    assert await trends.discount(redis, keys, uses[0], now) == 0  # a deletion handled twice
    await rank(redis, keys, now)
    found = (await ranked(redis, keys, 60))["gone"]
    assert (found.uses, found.accounts) == (5, 5)
    await trends.discount(redis, keys, uses[1], now)
    await rank(redis, keys, now)
    assert "gone" not in await ranked(redis, keys, 60)  # 4 accounts left: below the threshold
    # The post event of a deleted tweet, handled again (a retry), counts nothing.
    assert await trends.count(redis, keys, uses[0], now) == 0


async def test_an_event_handled_twice_counts_once(settings: Settings, redis: Redis) -> None:
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    uses = [await post(redis, keys, "twice", author, now - MINUTE_MS) for author in new_accounts(6)]
    for use in uses:
        assert await trends.count(redis, keys, use, now) == 0
    await rank(redis, keys, now)
    found = (await ranked(redis, keys, 5))["twice"]
    assert (found.uses, found.accounts) == (6, 6)


def test_a_window_not_ranked_is_refused_naming_those_that_are(api: Api) -> None:
    body = api.execute(TRENDING, {"window": 30})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "5, 15, 60, 240, 1440" in error["message"]
    for first in (-1, 101):
        assert api.error_code(TRENDING, {"first": first}) == "BAD_USER_INPUT"
    assert api.data(TRENDING, {"first": 0})["trending"] == []
    assert api.data(TRENDING)["trending"] == []  # nothing ranked yet: an empty list, not an error


def rank_now(settings: Settings) -> bool:
    """One ranking pass of the worker, as serve() makes it, as of the real clock."""

    async def run() -> bool:
        neo4j = graph.driver.open_driver(settings)
        redis = feeds.client.open_redis(settings)
        try:
            ctx = Fanout(settings=settings, neo4j=neo4j, redis=redis, keys=Keys(settings.redis_prefix))
            await redis.delete(ctx.keys.trend_ranking_turn)  # the previous pass was a moment ago
            return await worker.rank_trends(ctx, int(time.time() * 1000))
        finally:
            await redis.aclose()
            await neo4j.close()

    return asyncio.run(run())


def test_tags_posted_through_the_api_trend_and_a_deletion_counts_down(
    api: Api, settings: Settings, run_id: str
) -> None:
    """End to end: createTweet records the tags with its event, the worker counts them, a ranking
    pass ranks them, trending answers. Retweets add nothing; a deleted tweet's use goes."""
    tag = f"Surge{run_id}"
    accounts = [api.sign_up() for _ in range(6)]
    tweets = [api.tweet(account, f"look at #{tag} and #{tag.upper()}") for account in accounts]
    api.tweet(accounts[0], f"again #{tag}")
    api.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": tweets[1]}, accounts[2].token)
    drain(settings)
    assert rank_now(settings)
    trending = api.data(TRENDING, {"window": 5})["trending"]
    assert [(t["tag"], t["count"], t["accountCount"]) for t in trending] == [(tag.lower(), 7, 6)]
    assert trending[0]["score"] > 0
    for gone in (3, 4):
        api.data("mutation($id: ID!) { deleteTweet(id: $id) { id } }", {"id": tweets[gone]}, accounts[gone].token)
    drain(settings)
    assert rank_now(settings)
    trending = api.data(TRENDING, {"window": 15, "first": 1})["trending"]
    # Accounts cannot be taken out of a HyperLogLog: they are read as at most the uses left.
    assert [(t["tag"], t["count"], t["accountCount"]) for t in trending] == [(tag.lower(), 5, 5)]


async def test_trend_counting_is_switched_off_by_a_setting(settings: Settings, redis: Redis) -> None:
    """The same post event counts with TRENDS on and not with it off (the benchmark compares both)."""
    keys = Keys(settings.redis_prefix)
    now = int(time.time() * 1000)
    neo4j = graph.driver.open_driver(settings)
    try:
        for trends_on, tweet_id in ((False, first_id_at(now)), (True, first_id_at(now) + 1)):
            ctx = Fanout(
                settings=settings.model_copy(update={"trends": trends_on}), neo4j=neo4j, redis=redis, keys=keys
            )
            data = {"tweet": tweet_id, "author": next(account_ids), "tags": ["Switch"]}
            await fanout.handle(ctx, Event(id="0-1", outbox_id=tweet_id, kind="post", data=data, committed_ms=now))
            counted = await redis.smembers(keys.trend_uses("switch", now // MINUTE_MS))
            assert counted == ({str(tweet_id).encode()} if trends_on else set())
    finally:
        await neo4j.close()
