"""The Subscription root: live updates over WebSocket (graphql-transport-ws, or legacy graphql-ws)."""

from collections.abc import AsyncGenerator

import strawberry

from resolvers import live
from resolvers.ids import from_global_id, to_cursor
from schema.notifications import Notification, notification_or_none
from schema.types import ContextInfo, Tweet, TweetEdge, load_tweet_or_none, tweets_of


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Each tweet as it lands in the viewer's home timeline.")
    async def home_timeline(self, info: ContextInfo) -> AsyncGenerator[TweetEdge, None]:
        async for tweet_id in live.home_timeline_updates(info.context):
            records = await info.context.tweets.load_batch([tweet_id])
            (tweet,) = await tweets_of(info, [records.get(tweet_id)], page=True)
            if tweet is not None:
                yield TweetEdge(cursor=to_cursor(tweet_id), node=tweet)

    @strawberry.subscription(description="The tweet again whenever its counts or text change.")
    async def tweet_updated(self, info: ContextInfo, id: strawberry.ID) -> AsyncGenerator[Tweet, None]:
        tweet_id = from_global_id(id, "Tweet")
        async for _ in live.tweet_updates(info.context, tweet_id):
            tweet = await load_tweet_or_none(info, tweet_id)
            if tweet is None:  # deleted: nothing more will change
                return
            yield tweet

    @strawberry.subscription
    async def notifications(self, info: ContextInfo) -> AsyncGenerator[Notification, None]:
        async for notification_id in live.notification_updates(info.context):
            notification = await notification_or_none(info, notification_id)
            if notification is not None:
                yield notification
