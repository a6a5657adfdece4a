"""What the fan-out worker does with each event. Every step is idempotent: an event handled
twice (a retry, or a dead worker's event claimed by another) leaves the same timelines."""

import asyncio
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from neo4j import AsyncDriver
from redis.asyncio import Redis

import metrics
from feeds import celebrities, live, timeline, trends
from feeds.events import Event
from feeds.keys import Keys
from feeds.notify import notify
from feeds.packed import Window
from graph import fanout
from graph.snowflake import SnowflakeGenerator
from graph.timeline import pull_home_timeline, visible_entries
from settings import Settings


@dataclass(frozen=True)
class Fanout:
    settings: Settings
    neo4j: AsyncDriver
    redis: Redis
    keys: Keys
    ids: SnowflakeGenerator = field(default_factory=lambda: SnowflakeGenerator(os.getpid() % 1024))

    @property
    def ttl_seconds(self) -> int:
        return self.settings.timeline_idle_days * 86_400


async def handle(ctx: Fanout, event: Event) -> None:
    data = event.data
    if event.kind == "post":
        await deliver(ctx, data["tweet"], data["author"])
    elif event.kind == "delete":
        for entry in data["entries"]:
            await retract(ctx, entry["tweet"], entry["author"], entry.get("subject"))
    elif event.kind in ("follow", "unfollow"):
        await refresh_celebrity(ctx, data["followee"])
        await rebuild_timeline(ctx, data["follower"])
        await timeline.drop(ctx.redis, followed_sets(ctx.keys, [data["follower"]]))
        await live.celebrities_changed(ctx.redis, ctx.keys, [data["follower"]])
    elif event.kind not in ("like", "changed"):  # those change no timeline
        raise ValueError(f"unknown event kind {event.kind!r}")
    if ctx.settings.trends:
        await trends.record(ctx.redis, ctx.keys, event.kind, data, int(time.time() * 1000))
    await notify(ctx, event)
    metrics.FANOUT_LAG.observe(max(time.time() - event.committed_ms / 1000, 0))


async def deliver(ctx: Fanout, tweet_id: int, author_id: int) -> None:
    """A celebrity's tweet goes into their one shared list; anyone else's into each reader's timeline."""
    if await refresh_celebrity(ctx, author_id):
        # The author's own timeline follows the same rule as everyone's (their retweet of
        # something it already shows adds nothing).
        if await visible_entries(ctx.neo4j, author_id, [tweet_id]):
            await push(ctx, [author_id], tweet_id)
        list_key = ctx.keys.celebrity_tweets(author_id)
        if not await timeline.insert(ctx.redis, [list_key], tweet_id, ctx.settings.timeline_cap):
            await ensure_celebrity_list(ctx, author_id)
        await ctx.redis.publish(ctx.keys.live_author(author_id), json.dumps({"tweet": tweet_id}))
        return
    readers = await fanout.recipients(ctx.neo4j, tweet_id)
    await push(ctx, readers, tweet_id)


# Batches in flight at once: Redis runs one script at a time anyway, but the next batch is then
# packed and sent while the last one runs, so Redis never waits on this process.
BATCHES_IN_FLIGHT = 4


async def push(ctx: Fanout, readers: Sequence[int], tweet_id: int) -> None:
    """In batches, one script call each; only active readers (those with a cached timeline) take it,
    and each that does is told on its live channel."""
    size = ctx.settings.fanout_batch_size
    slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)
    message = json.dumps({"tweet": tweet_id})

    async def push_batch(batch: Sequence[int]) -> None:
        async with slots:
            taken = await timeline.insert(
                ctx.redis,
                [ctx.keys.timeline(reader) for reader in batch],
                tweet_id,
                ctx.settings.timeline_cap,
                channel_prefix=ctx.keys.live_viewer_prefix,
                message=message,
            )
        metrics.DELIVERIES.inc(len(taken))

    await asyncio.gather(*(push_batch(readers[start : start + size]) for start in range(0, len(readers), size)))


async def retract(ctx: Fanout, tweet_id: int, author_id: int, subject_id: int | None) -> None:
    """Removes a deleted entry wherever it was pushed; for a retweet, the next occurrence of what it
    retweeted (another followee's retweet, say) takes its place where it is now the first."""
    audience = [author_id, *await fanout.follower_ids(ctx.neo4j, author_id)]
    size = ctx.settings.fanout_batch_size
    for start in range(0, len(audience), size):
        keys = [ctx.keys.timeline(user) for user in audience[start : start + size]]
        await timeline.remove(ctx.redis, keys, [tweet_id])
    await timeline.remove(ctx.redis, [ctx.keys.celebrity_tweets(author_id)], [tweet_id])
    if subject_id is None:
        return
    by_entry: dict[int, list[int]] = {}
    for viewer, entry in await fanout.first_occurrences(ctx.neo4j, subject_id, author_id):
        by_entry.setdefault(entry, []).append(viewer)
    for entry, viewers in by_entry.items():
        await push(ctx, viewers, entry)


async def refresh_celebrity(ctx: Fanout, author_id: int) -> bool:
    """Whether the author is a celebrity now; on a crossing either way, fixes what depends on it."""
    celebrity = await fanout.follower_count(ctx.neo4j, author_id) >= ctx.settings.celebrity_threshold
    if celebrity == await celebrities.is_member(ctx.redis, ctx.keys, author_id):
        return celebrity
    followers = await fanout.follower_ids(ctx.neo4j, author_id)
    stale = followed_sets(ctx.keys, followers)
    if celebrity:
        await ensure_celebrity_list(ctx, author_id)
    else:
        # Their tweets since the crossing were never pushed: followers' timelines rebuild on next read.
        stale += [ctx.keys.timeline(follower) for follower in followers]
        stale.append(ctx.keys.celebrity_tweets(author_id))
    await celebrities.set_member(ctx.redis, ctx.keys, author_id, celebrity)
    await timeline.drop(ctx.redis, stale)
    await live.celebrities_changed(ctx.redis, ctx.keys, followers)
    return celebrity


def followed_sets(keys: Keys, users: Iterable[int]) -> list[str]:
    """The cached followed-celebrity sets of these users and their fill leases: what to drop."""
    return [key for user in users for key in (keys.celebrities_followed(user), keys.celebrities_followed_lease(user))]


async def sync_celebrities(ctx: Fanout) -> int:
    """Reconciles the celebrity set with Neo4j (after a bulk import, say); returns how many crossed."""
    should = await fanout.celebrity_ids(ctx.neo4j, ctx.settings.celebrity_threshold)
    crossed = should ^ await celebrities.members(ctx.redis, ctx.keys)
    for author_id in crossed:
        await refresh_celebrity(ctx, author_id)
    return len(crossed)


async def ensure_celebrity_list(ctx: Fanout, author_id: int) -> None:
    key = ctx.keys.celebrity_tweets(author_id)
    (window,) = await timeline.read_windows(ctx.redis, [key])
    if window is None:
        await build_celebrity_list(ctx.neo4j, ctx.redis, ctx.keys, author_id, ctx.settings.timeline_cap)


async def build_celebrity_list(neo4j: AsyncDriver, redis: Redis, keys: Keys, author_id: int, cap: int) -> Window:
    """A celebrity's newest tweets from Neo4j, stored as their shared list."""

    async def build() -> Window:
        ids, truncated = await fanout.recent_tweet_ids(neo4j, author_id, cap)
        return Window(ids=tuple(ids), truncated=truncated)

    return await timeline.rebuild(redis, keys.celebrity_tweets(author_id), build, cap, ttl_seconds=None)


async def rebuild_timeline(ctx: Fanout, user_id: int) -> None:
    """After a follow or unfollow: the user's timeline, if cached, is computed afresh from Neo4j."""

    async def build() -> Window:
        return await timeline_from_graph(ctx.neo4j, user_id, ctx.settings.timeline_cap)

    await timeline.replace_if_present(ctx.redis, ctx.keys.timeline(user_id), build)


async def timeline_from_graph(neo4j: AsyncDriver, user_id: int, cap: int) -> Window:
    page = await pull_home_timeline(neo4j, user_id, None, cap)
    return Window(ids=tuple(entry_id for _, entry_id in page.items), truncated=page.has_next)
