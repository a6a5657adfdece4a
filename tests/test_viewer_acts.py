"""viewerHasLiked and viewerHasRetweeted from the viewer's cached acts (feeds/viewer_acts.py):
every act shows in the very next read, a fill that raced an act is not stored, an act relayed late
cannot undo a newer one, and tweets older than the cache's horizon are asked of Neo4j."""

import json
import time

from neo4j import AsyncDriver
from redis.asyncio import Redis

from feeds import outbox, viewer_acts
from feeds.keys import Keys
from feeds.viewer_acts import LIKED, RETWEETED, Acts
from graph import outbox as graph_outbox
from graph.snowflake import first_id_at
from resolvers.ids import from_global_id
from settings import Settings
from tests.conftest import Account, Api

FLAGS = "query($id: ID!) { tweet(id: $id) { viewerHasLiked viewerHasRetweeted } }"
TIMELINE = "query { homeTimeline(first: 5) { edges { node { id viewerHasLiked viewerHasRetweeted } } } }"


def flags(api: Api, viewer: Account, tweet: str) -> tuple[bool, bool]:
    shown = api.data(FLAGS, {"id": tweet}, viewer.token)["tweet"]
    return shown["viewerHasLiked"], shown["viewerHasRetweeted"]


def act(api: Api, viewer: Account, mutation: str, tweet: str) -> str:
    result: str = api.data(f"mutation($id: ID!) {{ {mutation}(tweetId: $id) {{ id }} }}", {"id": tweet}, viewer.token)[
        mutation
    ]["id"]
    return result


async def test_every_act_shows_in_the_next_read(api: Api, redis: Redis, settings: Settings) -> None:
    author, viewer = api.sign_up(), api.sign_up()
    api.follow(viewer, author)
    tweet = api.tweet(author, "hello")
    assert flags(api, viewer, tweet) == (False, False)
    assert await redis.exists(Keys(settings.redis_prefix).viewer_acts(from_global_id(viewer.id, "User")))

    act(api, viewer, "like", tweet)
    assert flags(api, viewer, tweet) == (True, False)
    retweet = act(api, viewer, "retweet", tweet)
    assert flags(api, viewer, tweet) == (True, True)
    assert flags(api, viewer, retweet) == (True, True)  # a retweet shows its original's flags
    act(api, viewer, "unlike", tweet)
    assert flags(api, viewer, tweet) == (False, True)
    act(api, viewer, "undoRetweet", tweet)
    assert flags(api, viewer, tweet) == (False, False)

    retweet = act(api, viewer, "retweet", tweet)
    edges = api.data(TIMELINE, token=viewer.token)["homeTimeline"]["edges"]
    assert [(edge["node"]["viewerHasLiked"], edge["node"]["viewerHasRetweeted"]) for edge in edges] == [(False, True)]
    api.data("mutation($id: ID!) { deleteTweet(id: $id) { id } }", {"id": retweet}, viewer.token)
    assert flags(api, viewer, tweet) == (False, False)


async def test_a_fill_that_raced_an_act_is_not_stored(redis: Redis, settings: Settings) -> None:
    keys = Keys(settings.redis_prefix)
    token = await viewer_acts.begin_fill(redis, keys, 7)
    await viewer_acts.forget(redis, keys, [7])  # an act's relay lands while the filler reads Neo4j
    assert not await viewer_acts.complete_fill(redis, keys, 7, token, Acts(since=50, bits={}), 60)
    assert await viewer_acts.read(redis, keys, 7, [100]) is None

    token = await viewer_acts.begin_fill(redis, keys, 7)
    assert await viewer_acts.complete_fill(redis, keys, 7, token, Acts(since=50, bits={100: LIKED, 200: RETWEETED}), 60)
    acts = await viewer_acts.read(redis, keys, 7, [100, 200, 300, 10])
    assert acts is not None
    assert [acts.flags(subject) for subject in (100, 200, 300)] == [(True, False), (False, True), (False, False)]
    assert not acts.covers(10)
    assert 0 < await redis.ttl(keys.viewer_acts(7)) <= 60


async def test_an_act_relayed_late_cannot_undo_a_newer_one(
    api: Api, redis: Redis, neo4j: AsyncDriver, settings: Settings
) -> None:
    """The worker may relay a like (its request's relay failed) after the unlike that followed it
    was relayed: the cache must show the unlike (relays drop the viewer's acts, never patch them)."""
    author, viewer = api.sign_up(), api.sign_up()
    tweet = api.tweet(author, "liked, then not")
    act(api, viewer, "like", tweet)
    act(api, viewer, "unlike", tweet)
    assert flags(api, viewer, tweet) == (False, False)
    keys = Keys(settings.redis_prefix)
    recorded = await graph_outbox.unrelayed(neo4j, keys.events, first_id_at(int(time.time() * 1000) + 1000), 100)
    (liked,) = [entry for entry in recorded if json.loads(entry.payload)["kind"] == "like"]
    await outbox.relay(redis, keys, [liked], settings.timeline_cap)  # the like's relay, late
    assert flags(api, viewer, tweet) == (False, False)


async def test_tweets_older_than_the_cached_acts_are_asked_of_neo4j(api: Api, redis: Redis, settings: Settings) -> None:
    author, viewer = api.sign_up(), api.sign_up()
    tweet = api.tweet(author, "an old one")
    assert flags(api, viewer, tweet) == (False, False)
    key = Keys(settings.redis_prefix).viewer_acts(from_global_id(viewer.id, "User"))
    tweet_id = from_global_id(tweet, "Tweet")
    # The cache now starts after the tweet, and claims (wrongly) that the viewer liked it: Neo4j,
    # which has no like, must be the one to answer.
    await redis.hset(key, mapping={"since": tweet_id + 1, str(tweet_id): LIKED})
    assert flags(api, viewer, tweet) == (False, False)
    act(api, viewer, "like", tweet)
    assert flags(api, viewer, tweet) == (True, False)
