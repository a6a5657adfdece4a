"""Follow and unfollow: idempotent, never yourself. The worker then rebuilds the follower's
cached timeline, which takes in (or drops) the followee's recent tweets."""

from errors import BadInput
from feeds import events
from graph import follows
from resolvers.admission import Action, spend_action
from resolvers.context import Context
from resolvers.hydration import forget_users


async def follow(ctx: Context, followee_id: int) -> int:
    viewer_id = ctx.viewer()
    if followee_id == viewer_id:
        raise BadInput("you cannot follow yourself")
    await spend_action(ctx, Action.FOLLOW)
    await follows.follow(ctx.neo4j, viewer_id, followee_id, ctx.clients.ids.next_id())
    await forget_users(ctx.clients, [viewer_id, followee_id])
    await events.append(ctx.clients.redis, ctx.clients.keys, "follow", follower=viewer_id, followee=followee_id)
    return followee_id


async def unfollow(ctx: Context, followee_id: int) -> int:
    viewer_id = ctx.viewer()
    if followee_id == viewer_id:
        raise BadInput("you cannot unfollow yourself")
    await follows.unfollow(ctx.neo4j, viewer_id, followee_id)
    await forget_users(ctx.clients, [viewer_id, followee_id])
    await events.append(ctx.clients.redis, ctx.clients.keys, "unfollow", follower=viewer_id, followee=followee_id)
    return followee_id
