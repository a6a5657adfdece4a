"""What each subscription delivers, from the process's live relay (feeds/live.py).

The home timeline gets what lands in the viewer's cached timeline (published per viewer by the
worker, and by createTweet for the viewer's own tweets) and the tweets of the celebrities they
follow (published per author: pulled, not pushed), each passed through the same visibility check
as the homeTimeline query. Updates are delivered one at a time, in the order published.
"""

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from errors import NotFound, ServiceUnavailable
from feeds.live import Listener, UpdatesLost
from resolvers.context import Context
from resolvers.timeline import cached_sources, followed_celebrities, visible

RECENT = 1000  # ids a home timeline subscription remembers delivering, to deliver each once


async def next_update(listener: Listener) -> tuple[str, dict[str, Any]]:
    try:
        return await listener.next()
    except UpdatesLost:
        raise ServiceUnavailable(
            "this subscription fell too far behind and some updates were dropped; query again and resubscribe"
        ) from None


async def updates(ctx: Context, listener: Listener) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    """The listener's (channel, message) updates, each with the context's loaders emptied (the
    context lives as long as the connection); leaves the relay once closed (callers use aclosing,
    so that this happens when their subscription ends, not when the collector gets to it)."""
    try:
        while True:
            update = await next_update(listener)
            ctx.forget_loaded()
            yield update
    finally:
        await ctx.clients.relay.leave(listener)


async def home_timeline_channels(ctx: Context, viewer_id: int) -> list[str]:
    keys = ctx.clients.keys
    celebrity_ids = await followed_celebrities(ctx, viewer_id)
    return [keys.live_viewer(viewer_id), *(keys.live_author(celebrity) for celebrity in celebrity_ids)]


async def home_timeline_updates(ctx: Context) -> AsyncIterator[int]:
    """Ids of tweets as they land in the viewer's home timeline; ends with UpdatesLost if the
    subscriber falls a whole queue behind."""
    viewer_id = ctx.viewer()
    # Reading the timeline's sources caches them if they were not (a viewer without a cached
    # timeline gets no pushes) and renews its expiry: a subscriber is an active reader.
    await cached_sources(ctx, viewer_id, 1)
    own_channel = ctx.clients.keys.live_viewer(viewer_id)
    listener = await ctx.clients.relay.listen(await home_timeline_channels(ctx, viewer_id))
    recent: deque[int] = deque(maxlen=RECENT)
    async with aclosing(updates(ctx, listener)) as stream:
        async for channel, message in stream:
            if message.get("resync"):
                await ctx.clients.relay.retune(listener, await home_timeline_channels(ctx, viewer_id))
                continue
            tweet_id = int(message["tweet"])
            pushed = frozenset([tweet_id]) if channel == own_channel else frozenset()
            if tweet_id not in recent and await visible(ctx, viewer_id, [tweet_id], pushed):
                recent.append(tweet_id)
                yield tweet_id


async def tweet_updates(ctx: Context, tweet_id: int) -> AsyncIterator[None]:
    """One item per change to the tweet's text or counts (the caller loads it afresh each time)."""
    if await ctx.tweets.load(tweet_id) is None:
        raise NotFound("no such tweet")
    listener = await ctx.clients.relay.listen([ctx.clients.keys.live_tweet(tweet_id)])
    async with aclosing(updates(ctx, listener)) as stream:
        async for _ in stream:
            yield None


async def notification_updates(ctx: Context) -> AsyncIterator[int]:
    """Ids of the viewer's notifications as the worker creates them."""
    viewer_id = ctx.viewer()
    listener = await ctx.clients.relay.listen([ctx.clients.keys.live_notifications(viewer_id)])
    async with aclosing(updates(ctx, listener)) as stream:
        async for _, message in stream:
            yield int(message["notification"])
