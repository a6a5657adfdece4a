"""The object types of the public API. Each wraps a graph record; computed fields load through
the request's DataLoaders, so a page of N items costs a constant number of queries."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import strawberry
from strawberry.types import Info

from errors import NotFound
from graph.records import MediaRecord, Page, TweetRecord, UserRecord, created_at
from resolvers import connections
from resolvers.context import Context, RecordsLoader
from resolvers.ids import to_cursor, to_global_id
from resolvers.media import MAX_IMAGES
from schema.directives import CONNECTION, ListSize

ContextInfo = Info[Context, None]
ASSUMED_MENTIONS = 10  # for the cost of a tweet's mentions; a tweet may name more
R = TypeVar("R")


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


@strawberry.enum
class MediaKind(enum.Enum):
    IMAGE = "IMAGE"
    GIF = "GIF"
    VIDEO = "VIDEO"


@strawberry.type
class Media(Node):
    kind: MediaKind
    content_type: str
    byte_size: int
    width: int | None
    height: int | None
    alt_text: str | None
    url: str = strawberry.field(description="Public URL on the CDN; immutable, so it may be cached forever.")
    thumbnail_url: str | None = strawberry.field(description="A smaller rendition for list views (images only).")

    @classmethod
    def of(cls, record: MediaRecord, cdn_base_url: str) -> Media:
        return cls(
            id=strawberry.ID(to_global_id("Media", record.id)),
            kind=MediaKind(record.kind),
            content_type=record.content_type,
            byte_size=record.byte_size,
            width=record.width,
            height=record.height,
            alt_text=record.alt_text,
            url=cdn_base_url + record.key,
            thumbnail_url=None if record.thumbnail_key is None else cdn_base_url + record.thumbnail_key,
        )


@strawberry.type(description="One field of an HTML form.")
class FormField:
    name: str
    value: str


@strawberry.type
class MediaUpload:
    """Where to send a file too large for one API request; completeMediaUpload then checks it."""

    upload_id: strawberry.ID
    url: str = strawberry.field(
        description="POST a multipart/form-data body here, before expiresAt: every one of `fields`, then the file "
        "as the field `file`. MinIO refuses a file over maxByteSize."
    )
    fields: list[FormField]
    expires_at: datetime
    max_byte_size: int


async def media_of(info: ContextInfo, media_ids: Sequence[int]) -> list[Media]:
    found = await info.context.media.load_found(media_ids)
    cdn_base_url = info.context.clients.settings.cdn_base_url
    return [Media.of(found[media_id], cdn_base_url) for media_id in media_ids if media_id in found]


async def media_or_none(info: ContextInfo, media_id: int | None) -> Media | None:
    found = [] if media_id is None else await media_of(info, [media_id])
    return found[0] if found else None


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
    discoverable: bool = strawberry.field(description="Whether the user may be suggested to others in whoToFollow.")
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
            discoverable=record.discoverable,
            record=record,
        )

    @strawberry.field
    async def avatar(self, info: ContextInfo) -> Media | None:
        return await media_or_none(info, self.record.avatar_media_id)

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

    @strawberry.field(description="The user's own tweets, retweets and replies, newest first.", directives=CONNECTION)
    async def tweets(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> TweetConnection:
        page = await connections.user_tweets(info.context, self.record.id, first, after)
        return await tweet_connection(info, page)

    @strawberry.field(directives=CONNECTION)
    async def followers(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> UserConnection:
        page = await connections.followers(info.context, self.record.id, first, after)
        return await user_connection(info, page)

    @strawberry.field(directives=CONNECTION)
    async def following(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> UserConnection:
        page = await connections.following(info.context, self.record.id, first, after)
        return await user_connection(info, page)

    @strawberry.field(directives=CONNECTION)
    async def likes(self, info: ContextInfo, first: int | None = 20, after: str | None = None) -> TweetConnection:
        page = await connections.user_likes(info.context, self.record.id, first, after)
        return await tweet_connection(info, page)


@strawberry.type
class Tweet(Node):
    """What a timeline shows of a tweet (its author, what it retweets, the viewer's flags) is
    loaded for a whole page at construction (see tweets_of) and read as plain attributes: an
    awaited resolver per field and tweet would cost more than all the rest of the page."""

    text: str = strawberry.field(description="Empty for a plain retweet.")
    created_at: datetime
    edited_at: datetime | None
    hashtags: list[str]
    like_count: int
    retweet_count: int
    reply_count: int
    author: User
    viewer_has_liked: bool
    viewer_has_retweeted: bool
    retweet_of: Tweet | None = strawberry.field(description="Set on a retweet: the tweet that was retweeted.")
    record: strawberry.Private[TweetRecord]

    @classmethod
    def of(cls, record: TweetRecord, shown: Shown) -> Tweet:
        """A tweet shows the counts and viewer flags of its subject (a retweet, those of what it retweets)."""
        subject = shown.tweets.get(record.subject_id, record)
        retweeted = shown.tweets.get(record.retweet_of_id) if record.retweet_of_id is not None else None
        if retweeted is not None and retweeted.author_id not in shown.authors:
            retweeted = None
        liked, retweeted_by_viewer = shown.flags.get(record.subject_id, (False, False))
        return cls(
            id=strawberry.ID(to_global_id("Tweet", record.id)),
            text=record.text,
            created_at=created_at(record.id),
            edited_at=record.edited_at,
            hashtags=list(record.hashtags),
            like_count=subject.like_count,
            retweet_count=subject.retweet_count,
            reply_count=subject.reply_count,
            author=shown.authors[record.author_id],
            viewer_has_liked=liked,
            viewer_has_retweeted=retweeted_by_viewer,
            retweet_of=None if retweeted is None else cls.of(retweeted, shown),
            record=record,
        )

    @strawberry.field(directives=[ListSize(assumed_size=MAX_IMAGES)])
    async def media(self, info: ContextInfo) -> list[Media]:
        return await media_of(info, self.record.media_ids)

    @strawberry.field(directives=[ListSize(assumed_size=ASSUMED_MENTIONS)])
    async def mentions(self, info: ContextInfo) -> list[User]:
        found = await info.context.users.load_many(list(self.record.mention_ids))
        return [User.of(record) for record in found if record is not None]

    @strawberry.field(description="Set on a reply.")
    async def in_reply_to(self, info: ContextInfo) -> Tweet | None:
        return await load_tweet_or_none(info, self.record.in_reply_to_id)

    @strawberry.field(directives=CONNECTION)
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


@strawberry.type(description="A request budget, in points: a request spends max(1, its cost / 100).")
class RateLimit:
    cost: int = strawberry.field(description="Points the current request cost.")
    limit: int = strawberry.field(description="Points in the viewer's budget per window.")
    remaining: int
    reset_at: datetime
    window_seconds: int = strawberry.field(description="The budget refills in full over this many seconds.")

    @classmethod
    def of(cls, context: Context) -> RateLimit:
        admitted = context.admitted
        if admitted is None:  # the Admission extension runs before every resolver
            raise RuntimeError("rateLimit read before the request was admitted")
        return cls(
            cost=admitted.points,
            limit=admitted.budget.limit,
            remaining=admitted.charge.remaining,
            reset_at=datetime.now(UTC) + timedelta(seconds=admitted.charge.reset_after),
            window_seconds=admitted.budget.period,
        )


@strawberry.type
class DeletePayload:
    id: strawberry.ID
    deleted: bool


async def load_user(info: ContextInfo, user_id: int) -> User:
    record = await info.context.users.load(user_id)
    if record is None:
        raise NotFound("no such user")
    return User.of(record)


@dataclass(frozen=True)
class Shown:
    """Everything the tweets of one batch show beyond their own records, keyed by id."""

    tweets: dict[int, TweetRecord]
    authors: dict[int, User]
    flags: dict[int, tuple[bool, bool]]


async def tweets_of(info: ContextInfo, records: Sequence[TweetRecord | None], *, page: bool) -> list[Tweet | None]:
    """Tweets for records (None stays None) in three batched loads whatever their number: what the
    retweets retweet, then the authors of all and the viewer's flags on their subjects together.
    A tweet whose author cannot be loaded is left out (None) rather than failed on.

    page: the records are a whole page, loaded at once; otherwise they are one resolver's, whose
    loads the DataLoaders batch with those of its siblings (each tweet's inReplyTo, say).
    """
    context = info.context

    def load(loader: RecordsLoader[int, R], keys: Iterable[int]) -> Awaitable[dict[int, R]]:
        unique = list(dict.fromkeys(keys))
        return loader.load_batch(unique) if page else loader.load_found(unique)

    present = [record for record in records if record is not None]
    originals = await load(
        context.tweets, (record.retweet_of_id for record in present if record.retweet_of_id is not None)
    )
    shown_records = {record.id: record for record in present} | originals
    # Asked first: a revoked token raises here, and raising between the two loads below would
    # leave the first one's coroutine never awaited.
    viewer_id = context.optional_viewer()
    authors, flags = await asyncio.gather(
        load(context.users, (record.author_id for record in shown_records.values())),
        load(context.viewer_tweet_flags, (record.subject_id for record in present))
        if viewer_id is not None
        else no_flags(),
    )
    shown = Shown(
        tweets=shown_records, authors={author.id: User.of(author) for author in authors.values()}, flags=flags
    )
    return [
        None if record is None or record.author_id not in shown.authors else Tweet.of(record, shown)
        for record in records
    ]


async def no_flags() -> dict[int, tuple[bool, bool]]:
    """An anonymous viewer has liked and retweeted nothing."""
    return {}


async def load_tweet(info: ContextInfo, tweet_id: int) -> Tweet:
    tweet = await load_tweet_or_none(info, tweet_id)
    if tweet is None:
        raise NotFound("no such tweet")
    return tweet


async def load_tweet_or_none(info: ContextInfo, tweet_id: int | None) -> Tweet | None:
    record = None if tweet_id is None else await info.context.tweets.load(tweet_id)
    return (await tweets_of(info, [record], page=False))[0]


async def tweet_connection(info: ContextInfo, page: Page) -> TweetConnection:
    """Tweets deleted between the page query and hydration are left out, not failed on."""
    records = await info.context.tweets.load_batch([tweet_id for _, tweet_id in page.items])
    tweets = await tweets_of(info, [records.get(tweet_id) for _, tweet_id in page.items], page=True)
    edges = [
        TweetEdge(cursor=to_cursor(key), node=tweet)
        for (key, _), tweet in zip(page.items, tweets, strict=True)
        if tweet is not None
    ]
    return TweetConnection(edges=edges, page_info=page_info(page))


async def user_connection(info: ContextInfo, page: Page) -> UserConnection:
    records = await info.context.users.load_batch([user_id for _, user_id in page.items])
    edges = [
        UserEdge(cursor=to_cursor(key), node=User.of(records[user_id]))
        for key, user_id in page.items
        if user_id in records
    ]
    return UserConnection(edges=edges, page_info=page_info(page))
