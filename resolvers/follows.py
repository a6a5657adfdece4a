"""Follow and unfollow: idempotent, never yourself."""

from errors import BadInput
from graph import follows
from resolvers.context import Context


async def follow(ctx: Context, followee_id: int) -> int:
    viewer_id = ctx.viewer()
    if followee_id == viewer_id:
        raise BadInput("you cannot follow yourself")
    await follows.follow(ctx.neo4j, viewer_id, followee_id, ctx.clients.ids.next_id())
    return followee_id


async def unfollow(ctx: Context, followee_id: int) -> int:
    viewer_id = ctx.viewer()
    if followee_id == viewer_id:
        raise BadInput("you cannot unfollow yourself")
    await follows.unfollow(ctx.neo4j, viewer_id, followee_id)
    return followee_id
