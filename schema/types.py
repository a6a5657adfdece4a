"""The object types of the public API. Each wraps a graph record; computed fields load through
the request's DataLoaders, so a page of N items costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry
from strawberry.types import Info

from errors import NotFound
from graph.records import Page, TweetRecord, UserRecord, created_at
from resolvers import connections
from resolvers.context import Context
from resolvers.ids import to_cursor, to_global_id

ContextInfo = Info[Context, None]


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info(page: Page) -> PageInfo:
    cursors = [to_cursor(key) for key, _ in page.items]
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=False,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type
class User(Node):
    """Plain fields are copied from the record at construction: graphql-core's default resolver
    reads an attribute far faster than Strawberry calls a resolver method."""

    handle: str
    display_name: str
    bio: str
    created_at: datetime
    follower_count: int
    following_count: int
    tweet_count: int
    record: strawberry.Private[UserRecord]

    @classmethod
    def of(cls, record: UserRecord) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", record.id)),
            handle=record.handle,
            display_name=record.display_name,
            bio=record.bio,
            created_at=created_at(record.id),
            follower_count=record.follower_count,
            following_count=record.following_count,
            tweet_count=record.tweet_count,
            record=record,
        )

    @strawberry.field(description="Whether the authenticated viewer follows this user (false when anonymous).")
    async def viewer_follows(self, info: ContextInfo) -> bool:
        if info.context.optional_viewer() is None:
            return False
        return await info.context.viewer_follows.load(self.record.id)

    @strawberry.field
    async def follows_viewer(self, info: ContextInfo) -> bool:
        if info.context.optional_viewer() is None:
            return False
        return await info.context.follows_viewer.load(self.record.id)

    @strawberry.field(description="The user's own tweets, retweets and replies, newest first.")
    async def tweets(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> TweetConnection:
        page = await connections.user_tweets(info.context, self.record.id, first, after)
        return await tweet_connection(info, page)

    @strawberry.field
    async def followers(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> UserConnection:
        page = await connections.followers(info.context, self.record.id, first, after)
        return await user_connection(info, page)

    @strawberry.field
    async def following(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> UserConnection:
        page = await connections.following(info.context, self.record.id, first, after)
        return await user_connection(info, page)

    @strawberry.field
    async def likes(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> TweetConnection:
        page = await connections.user_likes(info.context, self.record.id, first, after)
        return await tweet_connection(info, page)


@strawberry.type
class Tweet(Node):
    text: str = strawberry.field(description="Empty for a plain retweet.")
    created_at: datetime
    edited_at: datetime | None
    hashtags: list[str]
    like_count: int
    retweet_count: int
    reply_count: int
    record: strawberry.Private[TweetRecord]

    @classmethod
    def of(cls, record: TweetRecord, subject: TweetRecord) -> Tweet:
        """subject: the record whose counts the tweet shows (a retweet shows those of what it retweets)."""
        return cls(
            id=strawberry.ID(to_global_id("Tweet", record.id)),
            text=record.text,
            created_at=created_at(record.id),
            edited_at=record.edited_at,
            hashtags=list(record.hashtags),
            like_count=subject.like_count,
            retweet_count=subject.retweet_count,
            reply_count=subject.reply_count,
            record=record,
        )

    @strawberry.field
    async def author(self, info: ContextInfo) -> User:
        return await load_user(info, self.record.author_id)

    @strawberry.field
    async def mentions(self, info: ContextInfo) -> list[User]:
        found = await info.context.users.load_many(list(self.record.mention_ids))
        return [User.of(record) for record in found if record is not None]

    @strawberry.field
    async def viewer_has_liked(self, info: ContextInfo) -> bool:
        if info.context.optional_viewer() is None:
            return False
        return (await info.context.viewer_tweet_flags.load(self.record.subject_id) or (False, False))[0]

    @strawberry.field
    async def viewer_has_retweeted(self, info: ContextInfo) -> bool:
        if info.context.optional_viewer() is None:
            return False
        return (await info.context.viewer_tweet_flags.load(self.record.subject_id) or (False, False))[1]

    @strawberry.field(description="Set on a retweet: the tweet that was retweeted.")
    async def retweet_of(self, info: ContextInfo) -> Tweet | None:
        return await load_tweet_or_none(info, self.record.retweet_of_id)

    @strawberry.field(description="Set on a reply.")
    async def in_reply_to(self, info: ContextInfo) -> Tweet | None:
        return await load_tweet_or_none(info, self.record.in_reply_to_id)

    @strawberry.field
    async def replies(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> TweetConnection:
        page = await connections.replies(info.context, self.record.subject_id, first, after)
        return await tweet_connection(info, page)


@strawberry.type
class TweetEdge:
    cursor: str
    node: Tweet


@strawberry.type
class TweetConnection:
    edges: list[TweetEdge]
    page_info: PageInfo


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo


@strawberry.type
class AuthPayload:
    token: str
    user: User


@strawberry.type
class DeletePayload:
    id: strawberry.ID
    deleted: bool


async def load_user(info: ContextInfo, user_id: int) -> User:
    record = await info.context.users.load(user_id)
    if record is None:
        raise NotFound("no such user")
    return User.of(record)


async def tweets_of(info: ContextInfo, records: Sequence[TweetRecord | None]) -> list[Tweet | None]:
    """Tweets for records (None stays None), the retweeted records loaded in one batch for their counts."""
    originals = await info.context.tweets.load_many(
        [record.retweet_of_id for record in records if record is not None and record.retweet_of_id is not None]
    )
    subjects = {original.id: original for original in originals if original is not None}
    return [
        None if record is None else Tweet.of(record, subjects.get(record.retweet_of_id or record.id, record))
        for record in records
    ]


async def load_tweet(info: ContextInfo, tweet_id: int) -> Tweet:
    tweet = await load_tweet_or_none(info, tweet_id)
    if tweet is None:
        raise NotFound("no such tweet")
    return tweet


async def load_tweet_or_none(info: ContextInfo, tweet_id: int | None) -> Tweet | None:
    record = None if tweet_id is None else await info.context.tweets.load(tweet_id)
    return (await tweets_of(info, [record]))[0]


async def tweet_connection(info: ContextInfo, page: Page) -> TweetConnection:
    """Tweets deleted between the page query and hydration are left out, not failed on."""
    tweets = await tweets_of(info, await info.context.tweets.load_many([tweet_id for _, tweet_id in page.items]))
    edges = [
        TweetEdge(cursor=to_cursor(key), node=tweet)
        for (key, _), tweet in zip(page.items, tweets, strict=True)
        if tweet is not None
    ]
    return TweetConnection(edges=edges, page_info=page_info(page))


async def user_connection(info: ContextInfo, page: Page) -> UserConnection:
    records = await info.context.users.load_many([user_id for _, user_id in page.items])
    edges = [
        UserEdge(cursor=to_cursor(key), node=User.of(record))
        for (key, _), record in zip(page.items, records, strict=True)
        if record is not None
    ]
    return UserConnection(edges=edges, page_info=page_info(page))
