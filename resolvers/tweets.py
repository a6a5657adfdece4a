"""Posting, editing and deleting tweets; likes and retweets. Each returns the id of the tweet to show."""

from datetime import UTC, datetime

from errors import BadInput
from graph import likes, retweets, tweets
from resolvers.context import Context
from resolvers.text import parse_text

MAX_IDEMPOTENCY_KEY = 128


async def create_tweet(ctx: Context, text: str, in_reply_to_id: int | None, idempotency_key: str | None) -> int:
    author_id = ctx.viewer()
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise BadInput(f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} characters")
    parsed = parse_text(text)
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
        ),
    )
    return tweet_id


async def edit_tweet(ctx: Context, tweet_id: int, text: str) -> int:
    editor_id = ctx.viewer()
    parsed = parse_text(text)
    await tweets.edit_tweet(
        ctx.neo4j,
        tweet_id=tweet_id,
        editor_id=editor_id,
        text=parsed.text,
        hashtags=parsed.hashtags,
        mention_handles=parsed.mentions,
        edited_at=datetime.now(UTC),
    )
    return tweet_id


async def delete_tweet(ctx: Context, tweet_id: int) -> list[int]:
    return await tweets.delete_tweet(ctx.neo4j, tweet_id, ctx.viewer())


async def like(ctx: Context, tweet_id: int) -> int:
    """Liking a retweet likes the tweet it retweets."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await likes.like(ctx.neo4j, viewer_id, subject_id, ctx.clients.ids.next_id())
    return subject_id


async def unlike(ctx: Context, tweet_id: int) -> int:
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await likes.unlike(ctx.neo4j, viewer_id, subject_id)
    return subject_id


async def retweet(ctx: Context, tweet_id: int) -> int:
    """Returns the retweet; retweeting a retweet retweets the original, and only once."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    retweet_id, _ = await retweets.retweet(ctx.neo4j, viewer_id, subject_id, ctx.clients.ids.next_id())
    return retweet_id


async def undo_retweet(ctx: Context, tweet_id: int) -> int:
    """Returns the tweet that was retweeted, now without the viewer's retweet."""
    viewer_id = ctx.viewer()
    subject_id = await tweets.subject_id(ctx.neo4j, tweet_id)
    await retweets.undo_retweet(ctx.neo4j, viewer_id, subject_id)
    return subject_id
