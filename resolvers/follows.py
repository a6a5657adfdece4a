"""Follow and unfollow: idempotent, never yourself. The worker then rebuilds the follower's
cached timeline, which takes in (or drops) the followee's recent tweets."""

from errors import BadInput
from feeds.outbox import Effects
from graph import follows
from resolvers.admission import Action, spend_action
from resolvers.context import Context
from resolvers.outbox import if_changed, relay_now


async def follow(ctx: Context, followee_id: int) -> int:
    viewer_id = ctx.viewer()
    if followee_id == viewer_id:
        raise BadInput("you cannot follow yourself")
    await spend_action(ctx, Action.FOLLOW)
    followed = Effects(
        "follow",
        pair(viewer_id, followee_id),
        users=[viewer_id, followee_id],
        suggestions_of=[viewer_id],
        following_of=[viewer_id],
    )
    edge_id = ctx.clients.ids.next_id()
    await relay_now(ctx, await follows.follow(ctx.neo4j, viewer_id, followee_id, edge_id, if_changed(ctx, followed)))
    return followee_id


async def unfollow(ctx: Context, followee_id: int) -> int:
    viewer_id = ctx.viewer()
    if followee_id == viewer_id:
        raise BadInput("you cannot unfollow yourself")
    unfollowed = Effects(
        "unfollow",
        pair(viewer_id, followee_id),
        users=[viewer_id, followee_id],
        suggestions_of=[viewer_id],
        following_of=[viewer_id],
    )
    await relay_now(ctx, await follows.unfollow(ctx.neo4j, viewer_id, followee_id, if_changed(ctx, unfollowed)))
    return followee_id


def pair(follower_id: int, followee_id: int) -> dict[str, int]:
    return {"follower": follower_id, "followee": followee_id}
