"""Posting, editing and deleting tweets; likes and retweets. Each returns the id of the tweet to show.

After each Neo4j write: the cached records it changed are dropped (and their live subscribers told),
and what changes timelines or notifies someone (posts, retweets, deletes, likes) is queued for the
fan-out worker.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from errors import BadInput
from feeds import events, timeline
from feeds.viewer_acts import LIKED, RETWEETED
from graph import likes, retweets, tweets
from resolvers.admission import Action, spend_action
from resolvers.context import Context
from resolvers.hydration import forget_tweets, forget_users, record_act
from resolvers.media import check_attachments
from resolvers.text import checked_text

MAX_IDEMPOTENCY_KEY = 128


async def create_tweet(
    ctx: Context, text: str, in_reply_to_id: int | None, idempotency_key: str | None, media_ids: Sequence[int] = ()
) -> int:
    author_id = ctx.viewer()
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise BadInput(f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} characters")
    parsed = await checked_text(text, may_be_empty=bool(media_ids))
    await check_attachments(ctx, media_ids)
    await spend_action(ctx, Action.TWEET)
    parent_id = None if in_reply_to_id is None else await tweets.subject_id(ctx.neo4j, in_reply_to_id)
    tweet_id, _ = await tweets.create_tweet(
        ctx.neo4j,
        tweets.NewTweet(
            id=ctx.clients.ids.next_id(),
            author_id=author_id,
            text=parsed.text,
            hashtags=parsed.hashtags,
            mention_handles=parsed.mentions,
            in_reply_to_id=parent_id,
            idempotency_key=idempotency_key,
            media_ids=media_ids,
        ),
    )
    await forget_users(ctx.clients, [author_id])
    if parent_id is not None:
        await forget_tweets(ctx.clients, [parent_id])
    # Read your own writes: the author's cached timeline takes the tweet now, not when the worker
    # gets to it. A retry with the same idempotency key queues the event again (handling is idempotent).
    keys = ctx.clients.keys
    await timeline.insert(
        ctx.clients.redis,
        [keys.timeline(author_id)],
        tweet_id,
        ctx.clients.settings.timeline_cap,
        channel_prefix=keys.live_viewer_prefix,
        message=json.dumps({"tweet": tweet_id}),
    )
    await events.append(ctx.clients.redis, ctx.clients.keys, "post", tweet=tweet_id, author=author_id)
    return tweet_id


async def edit_tweet(ctx: Context, tweet_id: int, text: str) -> int:
    editor_id = ctx.viewer()
    parsed = await checked_text(text)
    await tweets.edit_tweet(
        ctx.neo4j,
        tweet_id=tweet_id,
        editor_id=editor_id,
        text=parsed.text,
        hashtags=parsed.hashtags,
        mention_handles=parsed.mentions,
        edited_at=datetime.now(UTC),
    )
    await forget_tweets(ctx.clients, [tweet_id])
    return tweet_id


async def delete_tweet(ctx: Context, tweet_id: int) -> int:
    """Deletes the tweet and its retweets; reads stop showing them at once (they are gone from Neo4j
    and the cache), and the worker takes them out of the cached timelines."""
    viewer_id = ctx.viewer()
    deleted = await tweets.delete_tweet(ctx.neo4j, tweet_id, viewer_id)
    for gone in deleted:
        if gone.retweet_of_id is not None and gone.author_id == viewer_id:  # the viewer's own retweet
            await record_act(ctx.clients, viewer_id, gone.retweet_of_id, RETWEETED, on=False)
    related = [gone.retweet_of_id or gone.in_reply_to_id for gone in deleted]
    await forget_tweets(ctx.clients, [gone.tweet_id for gone in deleted] + [t for t in related if t is not None])
    await forget_users(ctx.clients, list({gone.author_id for gone in deleted}))
    entries = [{"tweet": gone.tweet_id, "author": gone.author_id, "subject": gone.retweet_of_id} for gone in deleted]
    await events.append(ctx.clients.redis, ctx.clients.keys, "delete", entries=entries)
    return tweet_id


async def like(ctx: Context, tweet_id: int) -> int:
    """Liking a retweet likes the tweet it retweets."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await spend_action(ctx, Action.LIKE)
    if await likes.like(ctx.neo4j, viewer_id, subject_id, ctx.clients.ids.next_id()):
        await forget_tweets(ctx.clients, [subject_id])
        await events.append(ctx.clients.redis, ctx.clients.keys, "like", user=viewer_id, tweet=subject_id)
    await record_act(ctx.clients, viewer_id, subject_id, LIKED, on=True)
    return subject_id


async def unlike(ctx: Context, tweet_id: int) -> int:
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    if await likes.unlike(ctx.neo4j, viewer_id, subject_id):
        await forget_tweets(ctx.clients, [subject_id])
    await record_act(ctx.clients, viewer_id, subject_id, LIKED, on=False)
    return subject_id


async def retweet(ctx: Context, tweet_id: int) -> int:
    """Returns the retweet; retweeting a retweet retweets the original, and only once."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await spend_action(ctx, Action.TWEET)
    retweet_id, created = await retweets.retweet(ctx.neo4j, viewer_id, subject_id, ctx.clients.ids.next_id())
    if created:
        await forget_tweets(ctx.clients, [subject_id])
        await forget_users(ctx.clients, [viewer_id])
    await record_act(ctx.clients, viewer_id, subject_id, RETWEETED, on=True)
    await events.append(ctx.clients.redis, ctx.clients.keys, "post", tweet=retweet_id, author=viewer_id)
    return retweet_id


async def undo_retweet(ctx: Context, tweet_id: int) -> int:
    """Returns the tweet that was retweeted, now without the viewer's retweet."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    removed = await retweets.undo_retweet(ctx.neo4j, viewer_id, subject_id)
    await record_act(ctx.clients, viewer_id, subject_id, RETWEETED, on=False)
    if removed is not None:
        await forget_tweets(ctx.clients, [removed, subject_id])
        await forget_users(ctx.clients, [viewer_id])
        entry = {"tweet": removed, "author": viewer_id, "subject": subject_id}
        await events.append(ctx.clients.redis, ctx.clients.keys, "delete", entries=[entry])
    return subject_id
