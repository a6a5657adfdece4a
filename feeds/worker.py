"""The fan-out worker: `python -m feeds.worker`. Run as many as you like; they share one consumer group.
After a bulk import, `python -m feeds.worker --reconcile-celebrities` marks who crossed the threshold.

Each event is acknowledged only after its work is done, and its outbox entry deleted from Neo4j
before that. Events that another worker read but did not acknowledge within FANOUT_CLAIM_IDLE_MS
(it died, say) are claimed and redone here. Every RELAY_EVERY_MS the worker also relays outbox
entries that no request relayed (feeds/outbox.py), and trims what the stream no longer needs.
With TRENDS on, one of the workers ranks the trending tags every TRENDS_RANK_EVERY_SECONDS, in a
task of its own beside the event loop.
"""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time

import metrics
from feeds import events, leases, outbox, trends
from feeds.client import open_redis, persistence_problem
from feeds.fanout import Fanout, handle, sync_celebrities
from feeds.keys import Keys
from graph import outbox as graph_outbox
from graph.driver import open_driver
from graph.snowflake import first_id_at, timestamp_ms
from settings import Settings

logger = logging.getLogger("chirp.worker")


# A failed event is retried by its worker after this pause (and by another worker, should this one
# die, after FANOUT_CLAIM_IDLE_MS).
RETRY_AFTER_MS = 1000
# How often the worker relays what requests left owed; and how old an entry must be before it does
# (a request relays its own within milliseconds of its commit: this spares appending it twice).
RELAY_EVERY_MS = 500
RELAY_GRACE_MS = 2000
RELAY_BATCH = 200


async def process(ctx: Fanout, batch: list[events.Event]) -> None:
    """Handles each event; those done lose their outbox entries, then are acknowledged. One that
    fails stays pending, and the others go on."""
    done = []
    for event in batch:
        try:
            await handle(ctx, event)
        except Exception:
            logger.exception("event %s (%s) failed; retried in %d ms", event.id, event.kind, RETRY_AFTER_MS)
            continue
        done.append(event)
    await graph_outbox.prune(ctx.neo4j, [event.outbox_id for event in done])
    await events.ack(ctx.redis, ctx.keys, done)


async def relay_owed(ctx: Fanout, grace_ms: int) -> int:
    """Relays the outbox entries older than grace_ms that no relay has appended (as their marks in
    Redis tell), oldest first; returns how many it relayed."""
    before = first_id_at(int(time.time() * 1000) - grace_ms)
    relayed = 0
    while entries := await graph_outbox.unrelayed(ctx.neo4j, ctx.keys.events, before, RELAY_BATCH):
        marked = await events.relayed(ctx.redis, ctx.keys, [entry.id for entry in entries])
        owed = [entry for entry, mark in zip(entries, marked, strict=True) if not mark]
        await outbox.relay(ctx.redis, ctx.keys, owed, ctx.settings.timeline_cap)
        await graph_outbox.mark_relayed(ctx.neo4j, [entry.id for entry in entries])
        relayed += len(owed)
        if len(entries) < RELAY_BATCH:
            break
    return relayed


async def ensure_stream(ctx: Fanout) -> None:
    """The stream and its group exist; when they had to be made (a new deployment, or Redis lost
    them), every outbox entry still owed is relayed again."""
    if await events.ensure_group(ctx.redis, ctx.keys):
        requeued = await graph_outbox.mark_all_unrelayed(ctx.neo4j, ctx.keys.events)
        if requeued:
            logger.warning("the event stream was new: %d outbox entries still owed are relayed again", requeued)


async def check_persistence(ctx: Fanout) -> None:
    """Says, in the log and in a metric, when Redis is set up to lose work (feeds/client.py)."""
    problem = await persistence_problem(ctx.redis)
    metrics.REDIS_UNSAFE.set(problem is not None)
    if problem is not None:
        logger.error("Redis could lose fan-out events on a restart: %s", problem)


async def upkeep(ctx: Fanout, grace_ms: int) -> int:
    """Relays what is owed, trims the stream, and reports both; returns how many it relayed."""
    relayed = await relay_owed(ctx, grace_ms)
    await events.trim(ctx.redis, ctx.keys)
    owed, oldest = await graph_outbox.owed(ctx.neo4j, ctx.keys.events)
    metrics.OUTBOX_ENTRIES.set(owed)
    metrics.OUTBOX_OLDEST.set(0 if oldest is None else max(time.time() - timestamp_ms(oldest) / 1000, 0))
    metrics.STREAM_BACKLOG.set(await events.backlog(ctx.redis, ctx.keys))
    return relayed


async def rank_trends(ctx: Fanout, now_ms: int) -> bool:
    """One ranking pass as of now_ms, unless another worker made one lately; whether it ranked.
    The turn lasts two thirds of the period, so the worker that ranked last finds it free on its
    next turn: a pass is never more than a period late while that worker lives."""
    every_ms = int(ctx.settings.trends_rank_every_seconds * 1000)
    if not await leases.take_turn(ctx.redis, ctx.keys.trend_ranking_turn, every_ms * 2 // 3):
        return False
    await trends.rank(
        ctx.redis, ctx.keys, now_ms, min_accounts=ctx.settings.trends_min_accounts, kept=ctx.settings.max_page_size
    )
    return True


async def run_once(ctx: Fanout, consumer: str, block_ms: int) -> int:
    """Retries its own unacknowledged events, claims stale ones of others, then reads new ones;
    returns how many it handled."""
    own = await events.retry_own(ctx.redis, ctx.keys, consumer, RETRY_AFTER_MS, count=10)
    stale = await events.claim_stale(ctx.redis, ctx.keys, consumer, ctx.settings.fanout_claim_idle_ms, count=10)
    # With work in hand, do not wait for new events (BLOCK 0 would wait forever).
    waiting = None if own or stale else block_ms
    fresh = await events.read_new(ctx.redis, ctx.keys, consumer, count=10, block_ms=waiting)
    await process(ctx, own + stale + fresh)
    return len(own) + len(stale) + len(fresh)


async def drain(ctx: Fanout, consumer: str) -> int:
    """Relays every entry owed, however young, and handles events until none is left: the worker
    is then idle. Returns how many events it handled."""
    await ensure_stream(ctx)
    handled = 0
    while True:
        relayed = await relay_owed(ctx, grace_ms=0)  # no trim or report each round: serve() does those
        count = await run_once(ctx, consumer, block_ms=1)
        handled += count
        if not relayed and not count:
            return handled


async def ranking(ctx: Fanout, stop: asyncio.Event) -> None:
    """Ranks trends every period beside serve()'s loop, so that a long pass delays no fan-out."""
    while not stop.is_set():
        try:
            await rank_trends(ctx, int(time.time() * 1000))
        except Exception:
            logger.exception("trend ranking failed; ranking again next period")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), ctx.settings.trends_rank_every_seconds)


async def serve(settings: Settings, consumer: str, stop: asyncio.Event) -> None:
    neo4j = open_driver(settings)
    redis = open_redis(settings)
    ctx = Fanout(settings=settings, neo4j=neo4j, redis=redis, keys=Keys(settings.redis_prefix))
    ranker = asyncio.create_task(ranking(ctx, stop)) if settings.trends else None
    try:
        healthy = started = False
        next_upkeep = 0.0
        while not stop.is_set():
            try:
                if not healthy:
                    await ensure_stream(ctx)
                    healthy = True
                if not started:
                    await check_persistence(ctx)
                    logger.info("fan-out worker %s started", consumer)
                    started = True
                if time.monotonic() >= next_upkeep:
                    next_upkeep = time.monotonic() + RELAY_EVERY_MS / 1000
                    await upkeep(ctx, RELAY_GRACE_MS)
                await run_once(ctx, consumer, block_ms=RELAY_EVERY_MS)
            except Exception:
                # Redis or Neo4j is away (or Redis lost the stream): try again in a moment.
                logger.exception("fan-out worker cannot go on; retrying")
                healthy = False
                await asyncio.sleep(1)
    finally:
        if ranker is not None:
            ranker.cancel()
            await asyncio.gather(ranker, return_exceptions=True)
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
