"""The fan-out worker: `python -m feeds.worker`. Run as many as you like; they share one consumer group.
After a bulk import, `python -m feeds.worker --reconcile-celebrities` marks who crossed the threshold.

Each event is acknowledged only after its work is done. Events that another worker read but
did not acknowledge within FANOUT_CLAIM_IDLE_MS (it died, say) are claimed and redone here.
"""

import asyncio
import logging
import os
import signal
import socket
import sys

import metrics
from feeds import events
from feeds.client import open_redis
from feeds.fanout import Fanout, handle, sync_celebrities
from feeds.keys import Keys
from graph.driver import open_driver
from settings import Settings

logger = logging.getLogger("chirp.worker")


# A failed event is retried by its worker after this pause (and by another worker, should this one
# die, after FANOUT_CLAIM_IDLE_MS).
RETRY_AFTER_MS = 1000


async def process(ctx: Fanout, batch: list[events.Event]) -> None:
    """Handles and acknowledges each event; one that fails stays pending, and the others go on."""
    for event in batch:
        try:
            await handle(ctx, event)
        except Exception:
            logger.exception("event %s (%s) failed; retried in %d ms", event.id, event.kind, RETRY_AFTER_MS)
            continue
        await events.ack(ctx.redis, ctx.keys, event)


async def run_once(ctx: Fanout, consumer: str, block_ms: int) -> int:
    """Retries its own unacknowledged events, claims stale ones of others, then reads new ones;
    returns how many it handled."""
    own = await events.retry_own(ctx.redis, ctx.keys, consumer, RETRY_AFTER_MS, count=10)
    stale = await events.claim_stale(ctx.redis, ctx.keys, consumer, ctx.settings.fanout_claim_idle_ms, count=10)
    # With work in hand, do not wait for new events (BLOCK 0 would wait forever).
    waiting = None if own or stale else block_ms
    fresh = await events.read_new(ctx.redis, ctx.keys, consumer, count=10, block_ms=waiting)
    await process(ctx, own + stale + fresh)
    metrics.STREAM_BACKLOG.set(await events.backlog(ctx.redis, ctx.keys))
    return len(own) + len(stale) + len(fresh)


async def drain(ctx: Fanout, consumer: str) -> int:
    """Handles events until none is left: the worker is then idle. Returns how many it handled."""
    await events.ensure_group(ctx.redis, ctx.keys)
    handled = 0
    while count := await run_once(ctx, consumer, block_ms=1):
        handled += count
    return handled


async def serve(settings: Settings, consumer: str, stop: asyncio.Event) -> None:
    neo4j = open_driver(settings)
    redis = open_redis(settings)
    ctx = Fanout(settings=settings, neo4j=neo4j, redis=redis, keys=Keys(settings.redis_prefix))
    try:
        await events.ensure_group(redis, ctx.keys)
        logger.info("fan-out worker %s started", consumer)
        while not stop.is_set():
            try:
                await run_once(ctx, consumer, block_ms=1000)
            except Exception:
                # Reading the stream failed (Redis is away): try again in a moment.
                logger.exception("fan-out worker cannot read events; retrying")
                await asyncio.sleep(1)
    finally:
        await redis.aclose()
        await neo4j.close()


async def reconcile(settings: Settings) -> int:
    """Reconciles the celebrity set with Neo4j once, after data was loaded around the app (a bulk
    import): every post and follow keeps it right for the authors they touch, but an import makes none.
    It scans every user's follower count, seconds on a large graph, so it is not done at start-up."""
    neo4j = open_driver(settings)
    redis = open_redis(settings)
    try:
        return await sync_celebrities(
            Fanout(settings=settings, neo4j=neo4j, redis=redis, keys=Keys(settings.redis_prefix))
        )
    finally:
        await redis.aclose()
        await neo4j.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.argv[1:] == ["--reconcile-celebrities"]:
        logger.info("celebrity set reconciled with Neo4j (%d crossings)", asyncio.run(reconcile(Settings())))
        return
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(Settings(), consumer, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
