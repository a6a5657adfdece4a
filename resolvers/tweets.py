"""Posting, editing and deleting tweets; likes and retweets. Each returns the id of the tweet to show.

Each Neo4j write records, in its own transaction, what must follow it outside Neo4j (cached records
dropped and subscribers told, the fan-out event): resolvers/outbox.py relays that right after.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from errors import BadInput
from feeds.outbox import Effects
from graph import likes, retweets, search, tweets
from graph.outbox import Entry
from graph.tweets import Deleted
from resolvers.admission import Action, spend_action
from resolvers.context import Context
from resolvers.media import check_attachments
from resolvers.outbox import always, if_changed, new_entry, relay_now
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
    new_id = ctx.clients.ids.next_id()
    # Read your own writes: the relay puts the tweet into the author's cached timeline at once.
    posted = Effects(
        "post",
        # Its hashtags, for trends (feeds/trends.py): recorded in the same transaction as the tweet.
        {"tweet": new_id, "author": author_id, "tags": list(parsed.hashtags)},
        tweets=[] if parent_id is None else [parent_id],
        users=[author_id],
        author_timeline=[author_id, new_id],
    )
    tweet_id, recorded = await tweets.create_tweet(
        ctx.neo4j,
        tweets.NewTweet(
            id=new_id,
            author_id=author_id,
            text=parsed.text,
            hashtags=parsed.hashtags,
            mention_handles=parsed.mentions,
            in_reply_to_id=parent_id,
            idempotency_key=idempotency_key,
            media_ids=media_ids,
        ),
        always(ctx, posted),
    )
    await relay_now(ctx, recorded)
    return tweet_id


async def edit_tweet(ctx: Context, tweet_id: int, text: str) -> int:
    editor_id = ctx.viewer()
    parsed = await checked_text(text)
    recorded = await tweets.edit_tweet(
        ctx.neo4j,
        tweet_id=tweet_id,
        editor_id=editor_id,
        text=parsed.text,
        hashtags=parsed.hashtags,
        mention_handles=parsed.mentions,
        edited_at=datetime.now(UTC),
        after=always(ctx, Effects("changed", tweets=[tweet_id])),
    )
    await relay_now(ctx, recorded)
    await search.await_searchable(ctx.neo4j)
    return tweet_id


async def delete_tweet(ctx: Context, tweet_id: int) -> int:
    """Deletes the tweet and its retweets; reads stop showing them at once (they are gone from Neo4j
    and the cache), and the worker takes them out of the cached timelines."""
    viewer_id = ctx.viewer()
    _, recorded = await tweets.delete_tweet(
        ctx.neo4j, tweet_id, viewer_id, lambda deleted: new_entry(ctx, deletion(viewer_id, deleted))
    )
    await relay_now(ctx, recorded)
    return tweet_id


def deletion(viewer_id: int, deleted: Sequence[Deleted]) -> Effects:
    related = [gone.retweet_of_id or gone.in_reply_to_id for gone in deleted]
    return Effects(
        "delete",
        {
            "entries": [
                {"tweet": g.tweet_id, "author": g.author_id, "subject": g.retweet_of_id, "tags": list(g.hashtags)}
                for g in deleted
            ]
        },
        tweets=[gone.tweet_id for gone in deleted] + [t for t in related if t is not None],
        users=sorted({gone.author_id for gone in deleted}),
        # The viewer's own retweet among them: their retweeted flag changes.
        acts_of=[viewer_id] if any(g.retweet_of_id is not None and g.author_id == viewer_id for g in deleted) else [],
    )


async def like(ctx: Context, tweet_id: int) -> int:
    """Liking a retweet likes the tweet it retweets."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await spend_action(ctx, Action.LIKE)
    liked = Effects("like", {"user": viewer_id, "tweet": subject_id}, tweets=[subject_id], acts_of=[viewer_id])
    recorded = await likes.like(ctx.neo4j, viewer_id, subject_id, ctx.clients.ids.next_id(), if_changed(ctx, liked))
    await relay_now(ctx, recorded)
    return subject_id


async def unlike(ctx: Context, tweet_id: int) -> int:
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    unliked = Effects("changed", tweets=[subject_id], acts_of=[viewer_id])
    await relay_now(ctx, await likes.unlike(ctx.neo4j, viewer_id, subject_id, if_changed(ctx, unliked)))
    return subject_id


async def retweet(ctx: Context, tweet_id: int) -> int:
    """Returns the retweet; retweeting a retweet retweets the original, and only once."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await spend_action(ctx, Action.TWEET)
    new_id = ctx.clients.ids.next_id()
    retweeted = Effects(
        "post", {"tweet": new_id, "author": viewer_id}, tweets=[subject_id], users=[viewer_id], acts_of=[viewer_id]
    )
    retweet_id, recorded = await retweets.retweet(ctx.neo4j, viewer_id, subject_id, new_id, if_changed(ctx, retweeted))
    await relay_now(ctx, recorded)
    return retweet_id


async def undo_retweet(ctx: Context, tweet_id: int) -> int:
    """Returns the tweet that was retweeted, now without the viewer's retweet."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)

    def undone(removed: int | None) -> Entry | None:
        if removed is None:
            return None
        entries = [{"tweet": removed, "author": viewer_id, "subject": subject_id}]
        effects = Effects("delete", {"entries": entries}, [removed, subject_id], [viewer_id], [viewer_id])
        return new_entry(ctx, effects)

    _, recorded = await retweets.undo_retweet(ctx.neo4j, viewer_id, subject_id, undone)
    await relay_now(ctx, recorded)
    return subject_id
