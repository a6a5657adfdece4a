"""The fan-out worker as deployed: `python -m feeds.worker` subprocesses against the real Neo4j and Redis.

- Crash safety: a worker killed (SIGKILL) half-way through a 20,000-follower fan-out leaves its event
  pending; another worker claims it after FANOUT_CLAIM_IDLE_MS and finishes it, every timeline
  holding the tweet exactly once.
- Follow and unfollow reach the follower's home timeline within seconds through a running worker.
- A deleted tweet leaves home timelines at the very next read, and the cached windows once fanned out.
- The live hooks (pub/sub) a push publishes, per viewer or per celebrity author.
- The worker's metrics, written to PROMETHEUS_MULTIPROC_DIR and reported by the app's /metrics.
"""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from neo4j import Driver, GraphDatabase
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from redis.client import PubSub
from starlette.testclient import TestClient

import feeds.client
import graph.driver
from app import create_app
from feeds import events, worker
from feeds.fanout import Fanout
from feeds.keys import Keys
from feeds.packed import unpack
from resolvers.ids import from_global_id
from settings import Settings
from tests.conftest import Account, Api, drain, forget_prefix, isolated_settings
from tests.processes import ROOT, log_tail, poll, settings_env, start_worker, stop, wait_for_worker, wait_until

T = TypeVar("T")


HOME = "query($first: Int) { homeTimeline(first: $first) { edges { node { id } } } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) { id deleted } }"

FOLLOWERS = 20_000
# Worker A is killed once this many live pushes (50 per batch of FANOUT_BATCH_SIZE=50) have been seen.
KILL_AFTER_PUSHES = 500
NEO4J_BATCH = 5_000


# --- processes ---------------------------------------------------------------------------------------------------


# --- Redis and Neo4j, synchronously ------------------------------------------------------------------------------


def open_sync_redis(settings: Settings) -> "redis.Redis":
    return redis.Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password or None,
        db=settings.redis_db,
        socket_connect_timeout=2.0,
        socket_timeout=10.0,
    )


def open_sync_neo4j(settings: Settings) -> Driver:
    return GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))


def group_state(client: "redis.Redis", keys: Keys) -> dict[str, Any] | None:
    for group in client.xinfo_groups(keys.events):
        name = group["name"]
        if (name.decode() if isinstance(name, bytes) else name) == events.GROUP:
            return group
    return None


def backlog(client: "redis.Redis", keys: Keys) -> int | None:
    """Events of the stream not acknowledged by the group (pending plus never read); None without a group."""
    group = group_state(client, keys)
    if group is None:
        return None
    return int(group["pending"]) + int(group.get("lag") or 0)


def acknowledged_all(client: "redis.Redis", keys: Keys) -> bool:
    """The group has read every event (no lag) and none is pending (XPENDING)."""
    group = group_state(client, keys)
    if group is None or group.get("lag") != 0:
        return False
    summary = client.xpending(keys.events, events.GROUP)
    return int(summary["pending"]) == 0


def cached_ids(client: "redis.Redis", key: str) -> tuple[int, ...] | None:
    value = client.get(key)
    assert not isinstance(value, str)
    return None if value is None else unpack(value).ids


def occurrences(client: "redis.Redis", keys: Keys, users: list[int], entry_id: int) -> dict[int, int | None]:
    """How many times each user's cached timeline holds the entry; None where the timeline is gone."""
    counts: dict[int, int | None] = {}
    for start in range(0, len(users), 1000):
        chunk = users[start : start + 1000]
        values = client.mget([keys.timeline(user) for user in chunk])
        for user, value in zip(chunk, values, strict=True):
            assert not isinstance(value, str)
            counts[user] = None if value is None else unpack(value).ids.count(entry_id)
    return counts


def activate(client: "redis.Redis", keys: Keys, users: list[int], ttl_seconds: int) -> None:
    """Makes the users active: each gets a cached (empty) timeline."""
    for start in range(0, len(users), 1000):
        with client.pipeline(transaction=False) as pipe:
            for user in users[start : start + 1000]:
                pipe.set(keys.timeline(user), b"", ex=ttl_seconds)
            pipe.execute()


def fresh_ids(count: int) -> list[int]:
    """Distinct ids in [2^59, 2^60): positive, below 2^63, and above every Snowflake id of the next decades."""
    ids: set[int] = set()
    while len(ids) < count:
        ids.add((1 << 59) | secrets.randbits(59))
    return sorted(ids)


def create_followers(driver: Driver, author_id: int, follower_ids: list[int], tag: str) -> None:
    """Users following the author, written in batches straight to Neo4j as the app would write them."""
    edge_ids = fresh_ids(len(follower_ids))
    for start in range(0, len(follower_ids), NEO4J_BATCH):
        rows = [
            {"id": user, "handle": f"w{tag}{start + offset}", "edge": edge}
            for offset, (user, edge) in enumerate(
                zip(follower_ids[start : start + NEO4J_BATCH], edge_ids[start : start + NEO4J_BATCH], strict=True)
            )
        ]
        driver.execute_query(
            """
            MATCH (a:User {id: $author})
            UNWIND $rows AS row
            CREATE (f:User {id: row.id, handle: row.handle, handleLower: toLower(row.handle),
                            displayName: row.handle, bio: ''})
            CREATE (f)-[:FOLLOWS {key: toString(row.id) + ':' + toString($author), id: row.edge}]->(a)
            """,
            author=author_id,
            rows=rows,
        )


def delete_users(driver: Driver, user_ids: list[int]) -> None:
    for start in range(0, len(user_ids), NEO4J_BATCH):
        driver.execute_query(
            "UNWIND $ids AS id MATCH (u:User {id: id}) DETACH DELETE u", ids=user_ids[start : start + NEO4J_BATCH]
        )


def delete_author(driver: Driver, author_id: int) -> None:
    driver.execute_query(
        "MATCH (a:User {id: $id}) OPTIONAL MATCH (a)-[:POSTED]->(t:Tweet) DETACH DELETE t, a", id=author_id
    )


# --- the API -----------------------------------------------------------------------------------------------------


def user_id(account: Account) -> int:
    return from_global_id(account.id, "User")


def tweet_id(global_id: str) -> int:
    return from_global_id(global_id, "Tweet")


def home(api: Api, account: Account, first: int = 50) -> list[str]:
    data = api.data(HOME, {"first": first}, account.token)
    return [edge["node"]["id"] for edge in data["homeTimeline"]["edges"]]


def messages(pubsub: PubSub, seconds: float) -> list[tuple[str, Any]]:
    """(channel, decoded JSON) of every message published within the next `seconds`."""
    received: list[tuple[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=min(left, 0.2))
        if message is not None and message["type"] in ("message", "pmessage"):
            received.append((message["channel"].decode(), json.loads(message["data"])))
    return received


def subscribed(client: "redis.Redis", *channels: str) -> PubSub:
    """A subscription that is in place (confirmed by Redis) when this returns."""
    pubsub: PubSub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(*channels)
    confirmed = 0
    deadline = time.monotonic() + 5
    while confirmed < len(channels) and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message is not None and message["type"] == "subscribe":
            confirmed += 1
    assert confirmed == len(channels), "the subscription was not confirmed"
    return pubsub


@pytest.fixture
def sync_redis(settings: Settings) -> Iterator["redis.Redis"]:
    client = open_sync_redis(settings)
    yield client
    client.close()


# --- crash safety ------------------------------------------------------------------------------------------------


def test_a_killed_workers_fanout_is_finished_by_another_exactly_once(tmp_path: Path, run_id: str) -> None:
    settings = isolated_settings(celebrity_threshold=1_000_000, fanout_batch_size=50)
    keys = Keys(settings.redis_prefix)
    client = open_sync_redis(settings)
    neo4j = open_sync_neo4j(settings)
    followers = fresh_ids(FOLLOWERS)
    author_id: int | None = None
    workers: list[subprocess.Popen[bytes]] = []
    log_a, log_b = tmp_path / "worker-a.log", tmp_path / "worker-b.log"
    pushes: PubSub = client.pubsub()  # type: ignore[no-untyped-call]
    try:
        with TestClient(create_app(settings)) as app_client:
            api = Api(app_client)
            author = api.sign_up()
            author_id = user_id(author)
            create_followers(neo4j, author_id, followers, run_id)
            activate(client, keys, followers, ttl_seconds=3600)
            posted = tweet_id(api.tweet(author, "to twenty thousand followers"))
        assert client.xlen(keys.events) == 1

        # Worker A: killed (SIGKILL) once its fan-out is under way, a few of its 400 batches done.
        pushes.psubscribe(keys.live_viewer("*"))  # type: ignore[arg-type]
        assert wait_until(lambda: (pushes.get_message(timeout=0.1) or {}).get("type") == "psubscribe", timeout=5)
        worker_a = start_worker(settings, log_a)
        workers.append(worker_a)
        seen = 0
        deadline = time.monotonic() + 60
        while seen < KILL_AFTER_PUSHES:
            assert worker_a.poll() is None, f"worker A exited by itself:\n{log_tail(log_a)}"
            assert time.monotonic() < deadline, f"worker A pushed only {seen} entries in 60 s:\n{log_tail(log_a)}"
            message = pushes.get_message(timeout=0.5)
            if message is not None and message["type"] == "pmessage":
                seen += 1
        os.kill(worker_a.pid, signal.SIGKILL)
        assert worker_a.wait(timeout=15) == -signal.SIGKILL

        delivered = sum(1 for count in occurrences(client, keys, followers, posted).values() if count)
        assert 0 < delivered < FOLLOWERS, f"worker A was not killed mid-way: {delivered} timelines hold the tweet"
        pending = client.xpending(keys.events, events.GROUP)
        assert int(pending["pending"]) == 1, f"worker A's event is not pending after its death: {pending}"

        # Worker B claims the dead worker's event once it has been idle FANOUT_CLAIM_IDLE_MS, and finishes it.
        started = time.monotonic()
        worker_b = start_worker(settings, log_b, FANOUT_CLAIM_IDLE_MS="1000")
        workers.append(worker_b)
        acknowledged = wait_until(lambda: acknowledged_all(client, keys), timeout=60, interval=0.2)
        assert acknowledged, (
            f"the event was not acknowledged within 60 s; pending: "
            f"{client.xpending_range(keys.events, events.GROUP, '-', '+', 10)}; "
            f"{sum(1 for count in occurrences(client, keys, followers, posted).values() if count)} of {FOLLOWERS} "
            f"timelines hold the tweet; worker B's log:\n{log_tail(log_b)}"
        )
        print(f"worker A delivered {delivered} of {FOLLOWERS}; B finished in {time.monotonic() - started:.1f} s")

        counts = occurrences(client, keys, followers, posted)
        wrong = {user: count for user, count in counts.items() if count != 1}
        assert not wrong, (
            f"{len(wrong)} of {FOLLOWERS} followers' timelines do not hold the tweet exactly once "
            f"(user: occurrences, None = no timeline), e.g. {dict(list(wrong.items())[:10])}"
        )
        assert worker_b.poll() is None, f"worker B died:\n{log_tail(log_b)}"
        stop(worker_b)
        assert worker_b.returncode == 0, log_tail(log_b)
    finally:
        pushes.close()
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=15)
        try:
            delete_users(neo4j, followers)
            if author_id is not None:
                delete_author(neo4j, author_id)
        finally:
            neo4j.close()
            client.close()
            asyncio.run(forget_prefix(settings))


# --- follow and unfollow through a running worker ----------------------------------------------------------------


def test_follow_and_unfollow_reach_the_home_timeline_within_five_seconds(
    api: Api, settings: Settings, sync_redis: "redis.Redis", tmp_path: Path
) -> None:
    keys = Keys(settings.redis_prefix)
    viewer, followee = api.sign_up(), api.sign_up()
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log)
    try:
        wait_for_worker(worker, log)
        assert home(api, viewer) == []  # the viewer is active now: their timeline is cached
        assert sync_redis.exists(keys.timeline(user_id(viewer)))
        posted = [api.tweet(followee, f"recent {index}") for index in range(3)]

        api.follow(viewer, followee)
        followed_at = time.monotonic()
        shown = poll(lambda: home(api, viewer), lambda ids: set(posted) <= set(ids), timeout=5)
        took = time.monotonic() - followed_at
        assert shown == posted[::-1], f"after following, the home timeline shows {shown} after {took:.1f} s"

        api.data(UNFOLLOW, {"id": followee.id}, viewer.token)
        unfollowed_at = time.monotonic()
        shown = poll(lambda: home(api, viewer), lambda ids: not set(posted) & set(ids), timeout=5)
        took = time.monotonic() - unfollowed_at
        assert shown == [], f"after unfollowing, the home timeline still shows {shown} after {took:.1f} s"
        assert worker.poll() is None, log_tail(log)
    finally:
        stop(worker)


# --- trends ranked by a running worker ---------------------------------------------------------------------------


def test_a_running_worker_counts_and_ranks_a_burst_by_itself(api: Api, settings: Settings, tmp_path: Path) -> None:
    """No drain, no ranking call: the deployed worker counts the tags and its ranking task ranks them,
    beside its event loop (a period of 1 s here; the default is 15 s, within the 30 s promised)."""
    tag = f"burst{secrets.token_hex(4)}"
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log, TRENDS_RANK_EVERY_SECONDS="1")
    trending = "query { trending(windowMinutes: 5) { tag accountCount } }"
    try:
        wait_for_worker(worker, log)
        for account in [api.sign_up() for _ in range(6)]:
            api.tweet(account, f"#{tag}")
        # The tag trends from its fifth account on; a ranking between the fifth and sixth post is not the end.
        expected = [{"tag": tag, "accountCount": 6}]
        found = poll(lambda: api.data(trending)["trending"], lambda ranked: ranked == expected, timeout=10)
        assert found == expected, log_tail(log)
        assert worker.poll() is None, log_tail(log)
    finally:
        stop(worker)


# --- deletes -----------------------------------------------------------------------------------------------------


def test_deleted_tweet_leaves_home_timeline_at_next_read_and_cached_windows_after_fanout(
    api: Api, settings: Settings, sync_redis: "redis.Redis"
) -> None:
    keys = Keys(settings.redis_prefix)
    author, follower = api.sign_up(), api.sign_up()
    api.follow(follower, author)
    drain(settings)  # the follow; no tweet exists yet
    assert home(api, author) == []  # the author is active: their own posts go straight into their timeline
    gid = api.tweet(author, "short-lived")
    raw = tweet_id(gid)
    assert home(api, follower) == [gid]  # the follower's timeline, cached now, is rebuilt with it
    follower_key, author_key = keys.timeline(user_id(follower)), keys.timeline(user_id(author))
    assert cached_ids(sync_redis, follower_key) == (raw,)
    assert cached_ids(sync_redis, author_key) == (raw,)

    assert api.data(DELETE, {"id": gid}, author.token)["deleteTweet"] == {"id": gid, "deleted": True}
    # No worker has run since: the cached windows still hold the id, and reads leave it out.
    assert cached_ids(sync_redis, follower_key) == (raw,)
    assert home(api, follower) == []
    assert home(api, author) == []

    drain(settings)
    assert raw not in (cached_ids(sync_redis, follower_key) or ())
    assert raw not in (cached_ids(sync_redis, author_key) or ())
    assert sync_redis.exists(follower_key), "the follower's timeline should be edited, not dropped"
    assert home(api, follower) == []


# --- live hooks --------------------------------------------------------------------------------------------------


def test_push_publishes_the_tweet_on_the_followers_live_channel(
    api: Api, settings: Settings, sync_redis: "redis.Redis"
) -> None:
    keys = Keys(settings.redis_prefix)
    author, follower = api.sign_up(), api.sign_up()
    api.follow(follower, author)
    drain(settings)
    assert home(api, follower) == []  # active: pushes reach them
    pubsub = subscribed(sync_redis, keys.live_viewer(user_id(follower)), keys.live_author(user_id(author)))
    try:
        posted = tweet_id(api.tweet(author, "live"))
        assert drain(settings) == 1
        received = messages(pubsub, seconds=1.0)
    finally:
        pubsub.close()
    assert received == [(keys.live_viewer(user_id(follower)), {"tweet": posted})]


def test_celebrity_tweet_is_published_on_the_authors_live_channel(tmp_path: Path) -> None:
    settings = isolated_settings(celebrity_threshold=1)
    keys = Keys(settings.redis_prefix)
    client = open_sync_redis(settings)
    try:
        with TestClient(create_app(settings)) as app_client:
            api = Api(app_client)
            author, follower = api.sign_up(), api.sign_up()
            api.follow(follower, author)
            drain(settings)  # one follower: the author is a celebrity now
            assert client.sismember(keys.celebrities, str(user_id(author)))
            assert home(api, follower) == []
            pubsub = subscribed(client, keys.live_author(user_id(author)), keys.live_viewer(user_id(follower)))
            try:
                gid = api.tweet(author, "to all my fans")
                assert drain(settings) == 1
                received = messages(pubsub, seconds=1.0)
            finally:
                pubsub.close()
            assert received == [(keys.live_author(user_id(author)), {"tweet": tweet_id(gid)})]
            assert home(api, follower) == [gid]  # pulled from the celebrity's list
    finally:
        client.close()
        asyncio.run(forget_prefix(settings))


# --- metrics -----------------------------------------------------------------------------------------------------


def test_worker_metrics_reach_the_multiprocess_dir_and_the_apps_metrics(
    settings: Settings, sync_redis: "redis.Redis", tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    # The app's /metrics reads the directory when set at create_app (this process's own samples stay in memory:
    # prometheus_client was imported without it).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    keys = Keys(settings.redis_prefix)
    log = tmp_path / "worker.log"
    with TestClient(create_app(settings)) as app_client:
        api = Api(app_client)
        author, follower = api.sign_up(), api.sign_up()
        api.follow(follower, author)
        assert home(api, follower) == []
        worker = start_worker(settings, log, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
        try:
            wait_for_worker(worker, log)
            # The follow's rebuild first: done after the posts, it would take them in itself and
            # leave the pushes nothing to deliver.
            assert wait_until(lambda: backlog(sync_redis, keys) == 0, timeout=10), log_tail(log)
            posted = [tweet_id(api.tweet(author, f"measured {index}")) for index in range(3)]
            assert wait_until(lambda: backlog(sync_redis, keys) == 0, timeout=10), log_tail(log)
            assert cached_ids(sync_redis, keys.timeline(user_id(follower))) == tuple(posted[::-1])

            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(metrics_dir))  # type: ignore[no-untyped-call]
            deliveries = registry.get_sample_value("chirp_fanout_deliveries_total")
            lag_count = registry.get_sample_value("chirp_fanout_lag_seconds_count")
            assert (deliveries or 0) >= 3, f"deliveries: {deliveries}"
            assert (lag_count or 0) >= 4, f"lag observations: {lag_count} (1 follow + 3 posts)"

            response = app_client.get("/metrics/")
            assert response.status_code == 200
            samples = {
                sample.name: sample.value
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
                if not sample.labels
            }
            assert samples.get("chirp_fanout_deliveries_total", 0) >= 3, response.text
            assert samples.get("chirp_fanout_lag_seconds_count", 0) >= 4, response.text
        finally:
            stop(worker)


# --- reconciling celebrities after a bulk import ----------------------------------------------------------------


def test_reconcile_marks_authors_who_crossed_without_a_post_or_follow_event() -> None:
    """Follows written straight into Neo4j (as a bulk import does) make no event; the command finds them."""
    settings = isolated_settings(celebrity_threshold=2)
    keys = Keys(settings.redis_prefix)
    sync_redis = open_sync_redis(settings)
    fans = fresh_ids(2)
    try:
        with TestClient(create_app(settings)) as app_client:
            star = Api(app_client).sign_up()
        neo4j = open_sync_neo4j(settings)
        try:
            create_followers(neo4j, user_id(star), fans, secrets.token_hex(6))
        finally:
            neo4j.close()
        assert not sync_redis.sismember(keys.celebrities, str(user_id(star)))
        done = subprocess.run(
            [sys.executable, "-m", "feeds.worker", "--reconcile-celebrities"],
            cwd=ROOT,
            env=settings_env(settings),
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert sync_redis.sismember(keys.celebrities, str(user_id(star)))
        assert b"celebrity set reconciled" in done.stdout + done.stderr
    finally:
        neo4j = open_sync_neo4j(settings)
        try:
            delete_users(neo4j, fans)
        finally:
            neo4j.close()
        sync_redis.close()
        asyncio.run(forget_prefix(settings))


async def test_backlog_is_right_when_redis_miscounts_the_lag(settings: Settings) -> None:
    """Redis's count of unread entries (the group's lag) can go wrong and stay wrong; a worker that
    has read everything has no backlog all the same, and one new event is a backlog of one."""
    keys = Keys(settings.redis_prefix)
    client = feeds.client.open_redis(settings)
    try:
        await events.ensure_group(client, keys)
        for index in range(3):
            await events.append(client, keys, index, "like", {"user": index, "tweet": index}, 0)
        read = await events.read_new(client, keys, "tests", count=10, block_ms=None)
        await events.ack(client, keys, read)
        await client.xgroup_setid(keys.events, events.GROUP, read[-1].id, entries_read=1)
        assert (await client.xinfo_groups(keys.events))[0]["lag"] == 2  # Redis is wrong now
        assert await events.backlog(client, keys) == 0
        await events.append(client, keys, 9, "like", {"user": 9, "tweet": 9}, 0)
        assert await events.backlog(client, keys) >= 1
    finally:
        await client.aclose()


async def test_a_failed_event_is_retried_by_its_worker_after_a_moment(settings: Settings) -> None:
    """An event whose handling failed here is retried by this worker after RETRY_AFTER_MS, not by
    another one after FANOUT_CLAIM_IDLE_MS; and it holds up no other event meanwhile."""
    keys = Keys(settings.redis_prefix)
    client = feeds.client.open_redis(settings)
    neo4j = graph.driver.open_driver(settings)
    try:
        ctx = Fanout(settings=settings, neo4j=neo4j, redis=client, keys=keys)
        await events.ensure_group(client, keys)
        await events.append(client, keys, 1, "no-such-kind", {}, 0)  # fails every time it is handled
        await events.append(client, keys, 2, "like", {"user": 1, "tweet": 1}, 0)  # about no tweet: nothing to notify
        assert await worker.run_once(ctx, "w1", block_ms=1) == 2
        assert await events.backlog(client, keys) == 1  # the like went through; the other is pending
        assert await worker.run_once(ctx, "w1", block_ms=1) == 0  # not retried at once
        await asyncio.sleep(worker.RETRY_AFTER_MS / 1000 + 0.2)
        (retried,) = await events.retry_own(client, keys, "w1", worker.RETRY_AFTER_MS, count=10)
        assert retried.kind == "no-such-kind"
    finally:
        await client.aclose()
        await neo4j.close()
