"""The object types of the public API. Each wraps a graph record; computed fields load through
the request's DataLoaders, so a page of N items costs a constant number of queries."""

from __future__ import annotations

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
    record: strawberry.Private[UserRecord]

    @classmethod
    def of(cls, record: UserRecord) -> User:
        return cls(id=strawberry.ID(to_global_id("User", record.id)), record=record)

    @strawberry.field
    def handle(self) -> str:
        return self.record.handle

    @strawberry.field
    def display_name(self) -> str:
        return self.record.display_name

    @strawberry.field
    def bio(self) -> str:
        return self.record.bio

    @strawberry.field
    def created_at(self) -> datetime:
        return created_at(self.record.id)

    @strawberry.field
    def follower_count(self) -> int:
        return self.record.follower_count

    @strawberry.field
    def following_count(self) -> int:
        return self.record.following_count

    @strawberry.field
    def tweet_count(self) -> int:
        return self.record.tweet_count

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
    record: strawberry.Private[TweetRecord]

    @classmethod
    def of(cls, record: TweetRecord) -> Tweet:
        return cls(id=strawberry.ID(to_global_id("Tweet", record.id)), record=record)

    @strawberry.field(description="Empty for a plain retweet.")
    def text(self) -> str:
        return self.record.text

    @strawberry.field
    def created_at(self) -> datetime:
        return created_at(self.record.id)

    @strawberry.field
    def edited_at(self) -> datetime | None:
        return self.record.edited_at

    @strawberry.field
    async def author(self, info: ContextInfo) -> User:
        return await load_user(info, self.record.author_id)

    @strawberry.field
    def hashtags(self) -> list[str]:
        return list(self.record.hashtags)

    @strawberry.field
    async def mentions(self, info: ContextInfo) -> list[User]:
        found = await info.context.users.load_many(list(self.record.mention_ids))
        return [User.of(record) for record in found if record is not None]

    async def subject(self, info: ContextInfo) -> TweetRecord:
        """The record whose counts this tweet shows: a retweet shows those of what it retweets."""
        if self.record.retweet_of_id is None:
            return self.record
        original = await info.context.tweets.load(self.record.retweet_of_id)
        return original if original is not None else self.record

    @strawberry.field
    async def like_count(self, info: ContextInfo) -> int:
        return (await self.subject(info)).like_count

    @strawberry.field
    async def retweet_count(self, info: ContextInfo) -> int:
        return (await self.subject(info)).retweet_count

    @strawberry.field
    async def reply_count(self, info: ContextInfo) -> int:
        return (await self.subject(info)).reply_count

    @strawberry.field
    async def viewer_has_liked(self, info: ContextInfo) -> bool:
        if info.context.optional_viewer() is None:
            return False
        return await info.context.viewer_liked.load(self.record.subject_id)

    @strawberry.field
    async def viewer_has_retweeted(self, info: ContextInfo) -> bool:
        if info.context.optional_viewer() is None:
            return False
        return await info.context.viewer_retweeted.load(self.record.subject_id)

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


async def load_tweet(info: ContextInfo, tweet_id: int) -> Tweet:
    tweet = await load_tweet_or_none(info, tweet_id)
    if tweet is None:
        raise NotFound("no such tweet")
    return tweet


async def load_tweet_or_none(info: ContextInfo, tweet_id: int | None) -> Tweet | None:
    record = None if tweet_id is None else await info.context.tweets.load(tweet_id)
    return None if record is None else Tweet.of(record)


async def tweet_connection(info: ContextInfo, page: Page) -> TweetConnection:
    """Tweets deleted between the page query and hydration are left out, not failed on."""
    records = await info.context.tweets.load_many([tweet_id for _, tweet_id in page.items])
    edges = [
        TweetEdge(cursor=to_cursor(key), node=Tweet.of(record))
        for (key, _), record in zip(page.items, records, strict=True)
        if record is not None
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
