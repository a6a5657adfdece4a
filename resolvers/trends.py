"""Query.trending: the last ranking pass of a window (feeds/trends.py ranks, in the worker)."""

from errors import BadInput
from feeds import trends
from resolvers.context import Context
from resolvers.pagination import page_size

DEFAULT_TRENDS = 10
DEFAULT_WINDOW_MINUTES = 60


async def trending(ctx: Context, first: int | None, window_minutes: int | None) -> list[trends.Trend]:
    """Null arguments mean their defaults; a window not ranked is refused, naming those that are."""
    window = DEFAULT_WINDOW_MINUTES if window_minutes is None else window_minutes
    if window not in trends.WINDOWS:
        allowed = ", ".join(str(minutes) for minutes in trends.WINDOWS)
        raise BadInput(f"windowMinutes must be one of {allowed}", allowed=list(trends.WINDOWS))
    clients = ctx.clients
    size = page_size(DEFAULT_TRENDS if first is None else first, clients.settings.max_page_size)
    return await trends.top(clients.redis, clients.keys, window, size)
