"""The Query root."""

import enum

import strawberry

from errors import NotFound
from resolvers import accounts, notifications, search, suggestions, timeline, trends
from resolvers.ids import parse_global_id
from schema.directives import CONNECTION, SEARCH
from schema.notifications import NotificationConnection, notification_connection, notification_or_none
from schema.suggestions import FIRST_ITEMS, FollowSuggestion
from schema.trends import Trend
from schema.types import (
    ContextInfo,
    Node,
    RateLimit,
    Tweet,
    TweetConnection,
    User,
    UserConnection,
    load_tweet_or_none,
    media_or_none,
    tweet_connection,
    user_connection,
)


@strawberry.enum
class SearchOrder(enum.Enum):
    LATEST = strawberry.enum_value("LATEST", description="Newest first.")
    TOP = strawberry.enum_value("TOP", description="Relevance combined with engagement and recency.")


async def user_or_none(info: ContextInfo, user_id: int | None) -> User | None:
    record = None if user_id is None else await info.context.users.load(user_id)
    return None if record is None else User.of(record)


def typed_id_or_none(global_id: str) -> tuple[str, int] | None:
    """Lookups by id answer null for an id that names nothing, as Relay clients expect."""
    try:
        return parse_global_id(global_id)
    except NotFound:
        return None


def raw_id_or_none(global_id: str, type_name: str) -> int | None:
    typed = typed_id_or_none(global_id)
    return typed[1] if typed is not None and typed[0] == type_name else None


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: ContextInfo, id: strawberry.ID) -> Node | None:
        typed = typed_id_or_none(id)
        if typed is None:
            return None
        type_name, raw_id = typed
        if type_name == "Tweet":
            return await load_tweet_or_none(info, raw_id)
        if type_name == "Notification":
            return await notification_or_none(info, raw_id)
        if type_name == "Media":
            return await media_or_none(info, raw_id)
        return await user_or_none(info, raw_id if type_name == "User" else None)

    @strawberry.field(description="The authenticated user; null when anonymous.")
    async def viewer(self, info: ContextInfo) -> User | None:
        return await user_or_none(info, info.context.optional_viewer())

    @strawberry.field
    async def user(self, info: ContextInfo, handle: str) -> User | None:
        return await user_or_none(info, await accounts.user_id_by_handle(info.context, handle))

    @strawberry.field
    async def tweet(self, info: ContextInfo, id: strawberry.ID) -> Tweet | None:
        return await load_tweet_or_none(info, raw_id_or_none(id, "Tweet"))

    @strawberry.field(
        description="Tweets and retweets by the accounts the viewer follows, and the viewer's own, newest first.",
        directives=CONNECTION,
    )
    async def home_timeline(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> TweetConnection:
        page = await timeline.home_timeline(info.context, first, after)
        return await tweet_connection(info, page)

    @strawberry.field(description="The viewer's (or, anonymous, the client's) request budget.")
    def rate_limit(self, info: ContextInfo) -> RateLimit:
        return RateLimit.of(info.context)

    @strawberry.field(directives=CONNECTION)
    async def notifications(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> NotificationConnection:
        page = await notifications.notifications_page(info.context, first, after)
        return await notification_connection(info, page)

    @strawberry.field(
        description=(
            'Tweets matching words, "phrases", #hashtags, @mentions and from:handle (a leading - excludes '
            "one); never retweets, which point to what they retweet. TOP ranks by engagement with a "
            "half-life of one day."
        ),
        directives=SEARCH,
    )
    async def search_tweets(
        self,
        info: ContextInfo,
        query: str,
        first: int | None = 20,
        after: str | None = None,
        order: SearchOrder | None = SearchOrder.LATEST,
    ) -> TweetConnection:
        top = order is SearchOrder.TOP  # null means the default, as for `first`
        page = await search.search_tweets(info.context, query, first, after, "TOP" if top else "LATEST")
        return await tweet_connection(info, page)

    @strawberry.field(
        description=(
            "Accounts whose handle or display name has words starting with the query's, ignoring case and "
            "accents: the exact handle first, then by match and followers, accounts the viewer follows boosted."
        ),
        directives=SEARCH,
    )
    async def search_users(
        self, info: ContextInfo, query: str, first: int | None = 20, after: str | None = None
    ) -> UserConnection:
        page = await search.search_users(info.context, query, first, after)
        return await user_connection(info, page)

    @strawberry.field(
        description="Hashtags ranked by use in the last windowMinutes.",
        directives=FIRST_ITEMS,
    )
    async def trending(self, info: ContextInfo, first: int | None = 10, window_minutes: int | None = 60) -> list[Trend]:
        return [Trend.of(trend) for trend in await trends.trending(info.context, first, window_minutes)]

    @strawberry.field(
        description=(
            "Accounts the viewer may want to follow, best first: friends of friends, followers not followed "
            "back, shared hashtags, popular accounts; never one followed, dismissed, inactive or opted out."
        ),
        directives=FIRST_ITEMS,
    )
    async def who_to_follow(self, info: ContextInfo, first: int | None = 10) -> list[FollowSuggestion]:
        return [FollowSuggestion.of(shown) for shown in await suggestions.who_to_follow(info.context, first)]
