"""Nothing acknowledged is lost (graph/outbox.py, feeds/outbox.py): a write that Neo4j committed
answers success and reaches every cache and follower, whether Redis was down at the time, lost
everything it held, or the API process died between the commit and the relay."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from starlette.testclient import TestClient

import feeds.client
import graph.driver
from app import create_app
from feeds import events, worker
from feeds.fanout import Fanout
from feeds.keys import Keys
from graph import outbox as graph_outbox
from settings import Settings
from tests.conftest import Account, Api, RedisProcess, drain, forget_prefix
from tests.processes import app_process, log_tail, poll, start_worker, stop, wait_for_worker

HOME = "query { homeTimeline(first: 20) { edges { node { id } } } }"
TWEET = "query($id: ID!) { tweet(id: $id) { likeCount viewerHasLiked } }"
USER = "query($handle: String!) { user(handle: $handle) { followerCount followingCount tweetCount } }"
NOTIFICATIONS = "query { notifications(first: 10) { edges { node { kind } } } }"
TWEETS_OF = "query($handle: String!) { user(handle: $handle) { tweets(first: 5) { edges { node { id } } } } }"


def home(api: Api, viewer: Account) -> list[str]:
    return [edge["node"]["id"] for edge in api.data(HOME, token=viewer.token)["homeTimeline"]["edges"]]


def notification_kinds(api: Api, account: Account) -> list[str]:
    return [edge["node"]["kind"] for edge in api.data(NOTIFICATIONS, token=account.token)["notifications"]["edges"]]


def user(api: Api, account: Account) -> dict[str, Any]:
    found: dict[str, Any] = api.data(USER, {"handle": account.handle})["user"]
    return found


@pytest.mark.parametrize(
    "own_redis", [True, False], ids=["redis-keeps-its-data", "redis-loses-its-data"], indirect=True
)
def test_writes_while_redis_is_down_answer_success_and_reach_every_follower(
    settings: Settings, own_redis: RedisProcess, tmp_path: Path
) -> None:
    """Redis stopped, then a post, a delete, a follow and a like, each answered success; Redis
    started again (with its data, or without); within 5 s every cache and the active follower's
    timeline are right. A worker runs throughout, as deployed."""
    own = settings.model_copy(update={"redis_port": own_redis.port})
    log = tmp_path / "worker.log"
    fanout = start_worker(own, log)
    try:
        wait_for_worker(fanout, log)
        with TestClient(create_app(own)) as client:
            api = Api(client)
            reader, author, other = api.sign_up(), api.sign_up(), api.sign_up()
            api.follow(reader, author)
            older = api.tweet(other, "from the one followed while Redis is down")
            first = api.tweet(author, "deleted while Redis is down")
            assert poll(lambda: home(api, reader), lambda ids: ids == [first], timeout=5) == [first]
            before = {account.handle: user(api, account) for account in (reader, author, other)}  # cached now

            own_redis.stop()
            second = api.tweet(author, "posted while Redis is down")
            api.data("mutation($id: ID!) { deleteTweet(id: $id) { deleted } }", {"id": first}, author.token)
            api.follow(reader, other)
            api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": second}, reader.token)
            own_redis.start()

            def now() -> dict[str, Any]:
                return {
                    "home": home(api, reader),
                    "liked": api.data(TWEET, {"id": second}, reader.token)["tweet"],
                    "following": user(api, reader)["followingCount"],
                    "followers": user(api, other)["followerCount"],
                    "tweets": user(api, author)["tweetCount"],  # one more, one less
                    "notified": notification_kinds(api, author),
                }

            expected = {
                "home": [second, older],
                "liked": {"likeCount": 1, "viewerHasLiked": True},
                "following": before[reader.handle]["followingCount"] + 1,
                "followers": before[other.handle]["followerCount"] + 1,
                "tweets": before[author.handle]["tweetCount"],
                "notified": ["LIKE", "FOLLOW"],
            }
            assert poll(now, lambda state: state == expected, timeout=5) == expected, log_tail(log)
    finally:
        stop(fanout)


@pytest.mark.parametrize("own_redis", [True], ids=["redis-keeps-its-data"], indirect=True)
def test_a_mutation_answers_what_it_committed_while_a_cache_is_stale(
    settings: Settings, own_redis: RedisProcess
) -> None:
    """A like made while Redis is down is not relayed; Redis comes back with the tweet's record and
    the liker's acts as they were. Until the worker relays the like, queries may show them; a
    mutation's answer never does: liking again answers liked, with the count Neo4j holds, and
    leaves the caches as fresh as its answer."""
    own = settings.model_copy(update={"redis_port": own_redis.port})
    like = "mutation($id: ID!) { like(tweetId: $id) { likeCount viewerHasLiked } }"
    with TestClient(create_app(own)) as client:
        api = Api(client)
        author, liker = api.sign_up(), api.sign_up()
        tweet = api.tweet(author, "liked while Redis is down")
        assert api.data(TWEET, {"id": tweet}, liker.token)["tweet"] == {"likeCount": 0, "viewerHasLiked": False}

        own_redis.stop()
        assert api.data(like, {"id": tweet}, liker.token)["like"] == {"likeCount": 1, "viewerHasLiked": True}
        own_redis.start()
        # The caches are stale indeed (no worker has run): what this test is about.
        assert api.data(TWEET, {"id": tweet}, liker.token)["tweet"] == {"likeCount": 0, "viewerHasLiked": False}

        assert api.data(like, {"id": tweet}, liker.token)["like"] == {"likeCount": 1, "viewerHasLiked": True}
        assert api.data(TWEET, {"id": tweet}, liker.token)["tweet"] == {"likeCount": 1, "viewerHasLiked": True}
        drain(own)  # the like's outbox entry, owed to this Redis


def test_a_process_killed_between_commit_and_relay_loses_nothing(api: Api, settings: Settings, tmp_path: Path) -> None:
    """The API process dies (kill -9, by the test hook) right after Neo4j committed a post, before
    it relayed the post's outbox entry: the worker relays it, and the follower's cached timeline
    takes the tweet."""
    reader, author = api.sign_up(), api.sign_up()
    api.follow(reader, author)
    drain(settings)
    assert home(api, reader) == []  # the reader's timeline is cached now, and complete

    with (
        app_process(settings, tmp_path / "dying.log", TEST_KILL_AFTER_COMMIT="true") as dying,
        pytest.raises(httpx.TransportError),
    ):
        httpx.post(
            f"{dying}/graphql",
            json={"query": 'mutation { createTweet(input: {text: "said, then the crash"}) { id } }'},
            headers={"Authorization": f"Bearer {author.token}"},
            timeout=30,
        )
    posted = api.data(TWEETS_OF, {"handle": author.handle})
    (tweet,) = [edge["node"]["id"] for edge in posted["user"]["tweets"]["edges"]]  # Neo4j has it
    assert home(api, reader) == []  # nothing relayed it yet
    drain(settings)
    assert home(api, reader) == [tweet]


async def test_events_redis_lost_before_they_were_handled_are_relayed_again(
    api: Api, settings: Settings, neo4j: AsyncDriver
) -> None:
    """A like relayed (its event in the stream), then Redis loses everything before any worker
    read it: the worker finds its stream new, relays every entry still owed again, and the like
    notifies its author."""
    author, fan = api.sign_up(), api.sign_up()
    tweet = api.tweet(author, "liked just before the loss")
    api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": tweet}, fan.token)
    keys = Keys(settings.redis_prefix)
    owed, _ = await graph_outbox.owed(neo4j, keys.events)
    assert owed == 2  # the post and the like, relayed but not handled
    await forget_prefix(settings)  # the stream, the relayed marks, the caches: all gone
    await asyncio.to_thread(drain, settings)
    assert notification_kinds(api, author) == ["LIKE"]


async def test_the_worker_reports_the_outbox_and_relays_only_what_no_request_did(
    api: Api, settings: Settings, neo4j: AsyncDriver, redis: Redis
) -> None:
    keys = Keys(settings.redis_prefix)
    author = api.sign_up()
    api.tweet(author, "relayed by its request")
    (recorded,) = await graph_outbox.unrelayed(neo4j, keys.events, 2**62, 10)
    assert json.loads(recorded.payload)["kind"] == "post"
    assert await events.relayed(redis, keys, [recorded.id]) == [True]
    ctx = Fanout(settings=settings, neo4j=neo4j, redis=redis, keys=keys)
    await worker.ensure_stream(ctx)
    assert await worker.upkeep(ctx, grace_ms=0) == 0  # its request relayed it: not appended again
    assert await redis.xlen(keys.events) == 1
    assert REGISTRY.get_sample_value("chirp_outbox_entries") == 1  # relayed, not yet handled
    assert (REGISTRY.get_sample_value("chirp_outbox_oldest_seconds") or 0) > 0
    assert await graph_outbox.unrelayed(neo4j, keys.events, 2**62, 10) == []
    assert await worker.run_once(ctx, "tests", block_ms=1) == 1
    await worker.upkeep(ctx, grace_ms=0)
    assert REGISTRY.get_sample_value("chirp_outbox_entries") == 0


async def test_trimming_never_drops_an_event_unread_or_unacknowledged(settings: Settings, redis: Redis) -> None:
    """300 events: 250 read and acknowledged, 20 read but pending, 30 unread. Trimming drops only
    acknowledged ones (whole nodes of the stream, as approximate trimming does)."""
    keys = Keys(settings.redis_prefix)
    await events.ensure_group(redis, keys)
    for index in range(300):
        await events.append(redis, keys, index + 1, "changed", {}, int(time.time() * 1000))
    read = await events.read_new(redis, keys, "tests", count=270, block_ms=None)
    await events.ack(redis, keys, read[:250])
    await events.trim(redis, keys)
    left = [int(fields[b"outbox"]) for _, fields in await redis.xrange(keys.events)]  # type: ignore[union-attr,index]
    assert len(left) < 300  # something was trimmed
    assert set(range(251, 301)) <= set(left)  # every pending (251-270) and unread (271-300) event stays
    assert await events.relayed(redis, keys, [1, 251, 300]) == [False, True, True]  # marks of the done go


async def test_the_worker_tells_when_redis_could_lose_events(settings: Settings, own_redis: RedisProcess) -> None:
    """RDB snapshots alone would bring back an old stream on a restart, eviction could drop it:
    the worker says so in a metric. An append-only file, or no persistence at all, is safe."""
    own = settings.model_copy(update={"redis_port": own_redis.port})
    client = feeds.client.open_redis(own)
    neo4j = graph.driver.open_driver(own)
    try:
        ctx = Fanout(settings=own, neo4j=neo4j, redis=client, keys=Keys(own.redis_prefix))
        seen = []
        for name, value in (
            ("save", ""),
            ("save", "3600 1"),
            ("appendonly", "yes"),
            ("maxmemory-policy", "allkeys-lru"),
        ):
            await client.config_set(name, value)
            await worker.check_persistence(ctx)
            seen.append(REGISTRY.get_sample_value("chirp_redis_persistence_unsafe"))
        assert seen == [0, 1, 0, 1]
        assert "evicts keys" in (await feeds.client.persistence_problem(client) or "")
    finally:  # as it was: nothing for the server to write when it is stopped
        await client.config_set("appendonly", "no")
        await client.config_set("save", "")
        await client.aclose()
        await neo4j.close()
