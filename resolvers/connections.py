"""The pages behind each connection: `first` and `after` checked, then one keyset query."""

from collections.abc import Awaitable, Callable

from graph import follows, likes, tweets
from graph.records import Page
from resolvers.context import Context
from resolvers.pagination import after_key, page_size

PageQuery = Callable[[int | None, int], Awaitable[Page]]


async def page(ctx: Context, first: int | None, after: str | None, query: PageQuery) -> Page:
    return await query(after_key(after), page_size(first, ctx.clients.settings.max_page_size))


async def user_tweets(ctx: Context, user_id: int, first: int | None, after: str | None) -> Page:
    return await page(ctx, first, after, lambda key, size: tweets.user_tweets_page(ctx.neo4j, user_id, key, size))


async def user_likes(ctx: Context, user_id: int, first: int | None, after: str | None) -> Page:
    return await page(ctx, first, after, lambda key, size: likes.likes_page(ctx.neo4j, user_id, key, size))


async def followers(ctx: Context, user_id: int, first: int | None, after: str | None) -> Page:
    return await page(ctx, first, after, lambda key, size: follows.followers_page(ctx.neo4j, user_id, key, size))


async def following(ctx: Context, user_id: int, first: int | None, after: str | None) -> Page:
    return await page(ctx, first, after, lambda key, size: follows.following_page(ctx.neo4j, user_id, key, size))


async def replies(ctx: Context, tweet_id: int, first: int | None, after: str | None) -> Page:
    return await page(ctx, first, after, lambda key, size: tweets.replies_page(ctx.neo4j, tweet_id, key, size))
