"""searchTweets and searchUsers: the query read by Chirp's grammar, `first` and `after` checked,
then one keyset query (graph/search.py)."""

import time

from graph import search
from graph.records import Page
from resolvers.context import Context
from resolvers.ids import from_cursor, from_ranked_cursor
from resolvers.pagination import page_size
from resolvers.search_query import parse_tweet_query, typeahead_words


async def search_tweets(ctx: Context, query: str, first: int | None, after: str | None, order: search.Order) -> Page:
    parsed = parse_tweet_query(query)
    size = page_size(first, ctx.clients.settings.max_page_size)
    key = None if after is None else _tweet_key(after, order)
    return await search.tweets_page(ctx.neo4j, parsed, order, key, size, int(time.time() * 1000))


def _tweet_key(after: str, order: search.Order) -> int | tuple[int, int]:
    """LATEST pages by tweet id; TOP by (rank, id)."""
    return from_cursor(after) if order == "LATEST" else from_ranked_cursor(after)


async def search_users(ctx: Context, query: str, first: int | None, after: str | None) -> Page:
    words = typeahead_words(query)
    size = page_size(first, ctx.clients.settings.max_page_size)
    key = None if after is None else from_ranked_cursor(after)
    viewer_id = ctx.optional_viewer()
    following = [] if viewer_id is None else await ctx.following.load(viewer_id)
    return await search.users_page(ctx.neo4j, words, following, key, size)
