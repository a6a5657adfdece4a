"""The viewer's home timeline, hybrid: their cached timeline (pushed entries) merged with the
cached tweet lists of the celebrities they follow (pulled), newest first.

- A viewer with no cached timeline gets it rebuilt from Neo4j in this same request.
- Past what the caches hold, paging continues from Neo4j's pull query, with no gap or overlap:
  the caches are complete above their oldest entry, the pull query is exact below it.
- Deleted tweets are dropped at hydration; a celebrity's replies and retweets, pulled for all
  their followers alike, are checked against this viewer's follows (one batched query).
- When Redis is down, the pull query answers alone.
"""

import heapq
import logging
import math
from collections.abc import Iterator
from itertools import islice

from redis.exceptions import RedisError

import metrics
from feeds import celebrities, timeline
from feeds.fanout import build_celebrity_list, timeline_from_graph
from feeds.packed import Window
from graph import follows
from graph import timeline as graph_timeline
from graph.records import Page
from resolvers.connections import page
from resolvers.context import Context

logger = logging.getLogger("chirp.timeline")


async def home_timeline(ctx: Context, first: int | None, after: str | None) -> Page:
    viewer_id = ctx.viewer()

    async def query(before: int | None, size: int) -> Page:
        if ctx.clients.settings.timeline_engine == "pull":
            return await graph_timeline.pull_home_timeline(ctx.neo4j, viewer_id, before, size)
        try:
            return await hybrid_page(ctx, viewer_id, before, size)
        except RedisError:
            logger.warning("Redis unavailable; home timeline from Neo4j alone", exc_info=True)
            return await graph_timeline.pull_home_timeline(ctx.neo4j, viewer_id, before, size)

    return await page(ctx, first, after, query)


def oldest_complete(window: Window) -> float:
    """Entries at or above this id are all in the window; 0 when it holds the whole history."""
    if not window.truncated:
        return 0
    return window.ids[-1] if window.ids else math.inf


async def hybrid_page(ctx: Context, viewer_id: int, before: int | None, size: int) -> Page:
    wanted = size + 1  # one more than the page, to know whether there is a next page
    # The first page needs only the newest entries of each source (with room for some to be
    # filtered out); the merge below is exact above every source's oldest entry read.
    pushed, pulled = await cached_sources(ctx, viewer_id, 2 * wanted if before is None else None)
    horizon = max([oldest_complete(pushed), *(oldest_complete(window) for window in pulled)])
    pushed_ids = frozenset(pushed.ids)
    candidates = merged(pushed, pulled, before, horizon)
    entries: list[int] = []
    while len(entries) < wanted and (chunk := list(islice(candidates, wanted - len(entries)))):
        entries += await visible(ctx, viewer_id, chunk, pushed_ids)
    if len(entries) < wanted and horizon > 0:
        below = horizon if before is None else min(before, horizon)
        rest = await graph_timeline.pull_home_timeline(
            ctx.neo4j, viewer_id, None if below == math.inf else int(below), wanted - len(entries)
        )
        entries += [entry for _, entry in rest.items]
    return Page(items=tuple((entry, entry) for entry in entries[:size]), has_next=len(entries) > size)


def merged(pushed: Window, pulled: list[Window], before: int | None, horizon: float) -> Iterator[int]:
    """The entries of all windows, newest first, each once, lazily: below `before`, down to `horizon`.

    Each window is already sorted, so only as much of them is walked as the page needs.
    """
    last = None
    for entry in heapq.merge(pushed.ids, *(window.ids for window in pulled), reverse=True):
        if entry < horizon:
            return
        if entry != last and (before is None or entry < before):
            yield entry
        last = entry


async def visible(ctx: Context, viewer_id: int, chunk: list[int], pushed_ids: frozenset[int]) -> list[int]:
    """The chunk less deleted tweets and the pulled replies and retweets this viewer must not see."""
    records = await ctx.tweets.load_batch(chunk)
    conditional = [
        record.id
        for record in records.values()
        if record.id not in pushed_ids and (record.retweet_of_id is not None or record.answers_user_id is not None)
    ]
    allowed = await graph_timeline.visible_entries(ctx.neo4j, viewer_id, conditional) if conditional else set()
    return [entry for entry in chunk if entry in records and (entry not in conditional or entry in allowed)]


async def cached_sources(ctx: Context, viewer_id: int, newest: int | None) -> tuple[Window, list[Window]]:
    """The viewer's cached timeline and the lists of the celebrities they follow (of each, the
    newest entries only when `newest` is given), the viewer's expiry renewed; whatever is absent
    is built from Neo4j now."""
    redis, keys, settings = ctx.clients.redis, ctx.clients.keys, ctx.clients.settings
    ttl = settings.timeline_idle_days * 86_400
    own, followed = await timeline.read_windows(
        redis, [keys.timeline(viewer_id), keys.celebrities_followed(viewer_id)], [newest, None], touch_seconds=ttl
    )
    metrics.TIMELINE_READS.labels(cache="rebuilt" if own is None else "hit").inc()
    if own is None:
        own = await timeline.rebuild(
            redis,
            keys.timeline(viewer_id),
            lambda: timeline_from_graph(ctx.neo4j, viewer_id, settings.timeline_cap),
            settings.timeline_cap,
            ttl,
        )
    celebrity_ids = list(followed.ids) if followed is not None else await fill_followed_celebrities(ctx, viewer_id)
    if not celebrity_ids:
        return own, []
    metrics.CELEBRITY_MERGES.inc(len(celebrity_ids))
    lists = await timeline.read_windows(
        redis, [keys.celebrity_tweets(celebrity) for celebrity in celebrity_ids], [newest] * len(celebrity_ids)
    )
    return own, [
        window or await build_celebrity_list(ctx.neo4j, redis, keys, celebrity, settings.timeline_cap)
        for celebrity, window in zip(celebrity_ids, lists, strict=True)
    ]


async def fill_followed_celebrities(ctx: Context, viewer_id: int) -> list[int]:
    """The celebrities the viewer follows, from Neo4j, cached under a lease (see feeds/celebrities.py)."""
    redis, keys = ctx.clients.redis, ctx.clients.keys
    token = await celebrities.lease_followed(redis, keys, viewer_id)
    everyone = await celebrities.members(redis, keys)
    pairs = await follows.existing_follows(ctx.neo4j, [(viewer_id, celebrity) for celebrity in everyone])
    celebrity_ids = [celebrity for _, celebrity in pairs]
    ttl = ctx.clients.settings.timeline_idle_days * 86_400
    await celebrities.store_followed(redis, keys, viewer_id, celebrity_ids, token, ttl)
    return celebrity_ids


async def followed_celebrities(ctx: Context, viewer_id: int) -> list[int]:
    """The celebrities the viewer follows: the cached set, or filled now."""
    (followed,) = await timeline.read_windows(ctx.clients.redis, [ctx.clients.keys.celebrities_followed(viewer_id)])
    return list(followed.ids) if followed is not None else await fill_followed_celebrities(ctx, viewer_id)
