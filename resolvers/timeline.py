"""The viewer's home timeline."""

from graph.records import Page
from graph.timeline import pull_home_timeline
from resolvers.connections import page
from resolvers.context import Context


async def home_timeline(ctx: Context, first: int | None, after: str | None) -> Page:
    viewer_id = ctx.viewer()
    return await page(ctx, first, after, lambda key, size: pull_home_timeline(ctx.neo4j, viewer_id, key, size))
