"""Notifications the fan-out worker creates from events: FOLLOW, LIKE, RETWEET, REPLY, MENTION.

Never for your own action, and never twice for the same recipient, kind, actor and tweet (the
graph keeps that unique), so handling an event again, or liking, unliking and liking again,
notifies once. Each created notification is announced on its recipient's live channel.
"""

from typing import TYPE_CHECKING

from feeds import live
from feeds.events import Event
from graph.notifications import Wanted, create_notifications
from graph.tweets import tweets_by_ids

if TYPE_CHECKING:
    from feeds.fanout import Fanout


async def notify(ctx: "Fanout", event: Event) -> None:
    data = event.data
    if event.kind == "post":
        actor_id = data["author"]
        wanted = await post_notifications(ctx, data["tweet"])
    elif event.kind == "like":
        actor_id = data["user"]
        liked = (await tweets_by_ids(ctx.neo4j, [data["tweet"]])).get(data["tweet"])
        wanted = [] if liked is None else [wanted_one(ctx, liked.author_id, "LIKE", liked.id)]
    elif event.kind == "follow":
        actor_id = data["follower"]
        wanted = [wanted_one(ctx, data["followee"], "FOLLOW", None)]
    else:
        return
    created = await create_notifications(
        ctx.neo4j, actor_id, [item for item in wanted if item.recipient_id != actor_id]
    )
    await live.notified(ctx.redis, ctx.keys, created)


def wanted_one(ctx: "Fanout", recipient_id: int, kind: str, tweet_id: int | None) -> Wanted:
    return Wanted(id=ctx.ids.next_id(), recipient_id=recipient_id, kind=kind, tweet_id=tweet_id)


async def post_notifications(ctx: "Fanout", tweet_id: int) -> list[Wanted]:
    """A retweet notifies the retweeted tweet's author; a reply, the author it answers; a
    mention, the mentioned user (each about the tweet they would want to see)."""
    posted = (await tweets_by_ids(ctx.neo4j, [tweet_id])).get(tweet_id)
    if posted is None:  # deleted since
        return []
    wanted = [wanted_one(ctx, user_id, "MENTION", posted.id) for user_id in posted.mention_ids]
    if posted.answers_user_id is not None:
        wanted.append(wanted_one(ctx, posted.answers_user_id, "REPLY", posted.id))
    if posted.retweet_of_id is not None:
        retweeted = (await tweets_by_ids(ctx.neo4j, [posted.retweet_of_id])).get(posted.retweet_of_id)
        if retweeted is not None:
            wanted.append(wanted_one(ctx, retweeted.author_id, "RETWEET", retweeted.id))
    return wanted
