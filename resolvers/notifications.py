"""The viewer's notifications (created by the fan-out worker: see feeds/notify.py)."""

from errors import NotFound
from graph import notifications
from graph.records import Page
from resolvers.connections import page
from resolvers.context import Context


async def notifications_page(ctx: Context, first: int | None, after: str | None) -> Page:
    viewer_id = ctx.viewer()
    return await page(
        ctx, first, after, lambda key, size: notifications.notifications_page(ctx.neo4j, viewer_id, key, size)
    )


async def unread_count(ctx: Context) -> int:
    return await notifications.unread_count(ctx.neo4j, ctx.viewer())


async def mark_read(ctx: Context, up_to_id: int | None) -> int:
    """Marks the viewer's notifications read, up to this one (all of them when None); returns how many.
    The one named must be the viewer's own: anyone else's is NOT_FOUND, as node(id) hides it."""
    viewer_id = ctx.viewer()
    if up_to_id is not None:
        named = await ctx.notifications.load(up_to_id)
        if named is None or named.recipient_id != viewer_id:
            raise NotFound("no such notification")
    return await notifications.mark_read(ctx.neo4j, viewer_id, up_to_id)
