"""After a write committed: its outbox entry relayed at once, for speed (feeds/outbox.py).

A failure here is logged, not raised: Neo4j has committed, so the write has succeeded, and the
worker relays the entry within a second or so of Redis answering again.
"""

import asyncio
import logging
import os
import signal
from typing import Any

from redis.exceptions import RedisError

from feeds.outbox import Effects, entry, relay
from graph.outbox import After, Entry
from resolvers.context import Context

logger = logging.getLogger("chirp.outbox")


def new_entry(ctx: Context, effects: Effects) -> Entry:
    return entry(ctx.clients.keys, ctx.clients.ids.next_id(), effects)


def always(ctx: Context, effects: Effects) -> After[Any]:
    """The write records these effects whatever it did."""
    return lambda _: new_entry(ctx, effects)


def if_changed(ctx: Context, effects: Effects) -> After[bool]:
    """The write records these effects when it changed something (a like made, a follow removed)."""
    return lambda changed: new_entry(ctx, effects) if changed else None


async def relay_now(ctx: Context, recorded: Entry | None) -> None:
    if recorded is None:
        return
    clients = ctx.clients
    if clients.settings.test_kill_after_commit:
        os.kill(os.getpid(), signal.SIGKILL)
    try:
        async with asyncio.timeout(clients.settings.service_timeout_seconds):
            await relay(clients.redis, clients.keys, [recorded], clients.settings.timeline_cap)
    except (RedisError, TimeoutError):
        logger.warning("outbox entry %s not relayed now; the worker relays it", recorded.id, exc_info=True)
