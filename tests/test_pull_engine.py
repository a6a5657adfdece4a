"""TIMELINE_ENGINE=pull, the benchmark's baseline: the same answers, read from Neo4j alone."""

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from feeds.keys import Keys
from settings import Settings
from tests.conftest import Api, settings_for_test

TIMELINE = """query { homeTimeline(first: 10) { edges { node {
  text viewerHasLiked viewerHasRetweeted author { handle } retweetOf { text }
} } } }"""


@pytest.fixture
def settings() -> Iterator[Settings]:
    with settings_for_test(timeline_engine="pull") as pull:
        yield pull


async def test_the_pull_engine_answers_from_neo4j_alone(api: Api, redis: Redis, settings: Settings) -> None:
    viewer, author, other = api.sign_up(), api.sign_up(), api.sign_up()
    api.follow(viewer, author)
    first = api.tweet(author, "first")
    api.tweet(other, "not followed")
    api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": first}, viewer.token)
    original = api.tweet(other, "retweeted")
    api.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": original}, author.token)
    api.tweet(viewer, "mine")

    edges = api.data(TIMELINE, token=viewer.token)["homeTimeline"]["edges"]
    assert [edge["node"] for edge in edges] == [
        {
            "text": "mine",
            "viewerHasLiked": False,
            "viewerHasRetweeted": False,
            "author": {"handle": viewer.handle},
            "retweetOf": None,
        },
        {
            "text": "",
            "viewerHasLiked": False,
            "viewerHasRetweeted": False,
            "author": {"handle": author.handle},
            "retweetOf": {"text": "retweeted"},
        },
        {
            "text": "first",
            "viewerHasLiked": True,
            "viewerHasRetweeted": False,
            "author": {"handle": author.handle},
            "retweetOf": None,
        },
    ]
    # Nothing was cached on the way: beside the protection's budgets and token revocations, the
    # only keys are the fan-out queue the writes fed and its marks of what was relayed.
    keys = {key.decode() async for key in redis.scan_iter(match=f"{settings.redis_prefix}*")}
    protection = (f"{settings.redis_prefix}budget:", f"{settings.redis_prefix}tokens:")
    fed = Keys(settings.redis_prefix)
    assert {key for key in keys if not key.startswith(protection)} == {fed.events, fed.relayed}
