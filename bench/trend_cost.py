"""The fan-out worker's throughput with trend counting on and off, in the same run.

Post events for real recent tweets with hashtags (young enough to be counted: trends ignore a use
whose minute bucket is gone) are appended to the stream, and one in-process worker drains them, in
alternating rounds with TRENDS on and off, each round with tweets of its own (a use counted once is
not counted again, which would flatter the rounds after the first).
"""

import time
from dataclasses import dataclass

from neo4j import AsyncDriver
from redis.asyncio import Redis

from bench.generate import ID_BASE
from feeds import events
from feeds.fanout import Fanout
from feeds.keys import Keys
from feeds.worker import drain, ensure_stream
from graph.snowflake import first_id_at
from settings import Settings

ROUNDS = 4  # even: on, off, on, off
RECENT_MS = 20 * 3_600_000  # well inside the minutes trends keep (feeds/trends.py MINUTES_KEPT)
OUTBOX_BASE = ID_BASE * 4  # outbox ids of the made-up events: no real entry has them


@dataclass(frozen=True)
class TrendCost:
    events_per_round: int
    on_events_per_second: float
    off_events_per_second: float
    on_over_off: float


async def recent_tagged(neo4j: AsyncDriver, count: int) -> list[tuple[int, int, list[str]]]:
    """(tweet, author, tags) of up to `count` of the newest tweets with hashtags."""
    records, _, _ = await neo4j.execute_query(
        """
        MATCH (t:Tweet) WHERE t.id >= $since AND size(t.hashtags) > 0
        RETURN t.id AS id, t.authorId AS author, t.hashtags AS tags ORDER BY t.id DESC LIMIT $count
        """,
        since=first_id_at(int(time.time() * 1000) - RECENT_MS),
        count=count,
    )
    return [(record["id"], record["author"], record["tags"]) for record in records]


async def drain_rate(ctx: Fanout, tweets: list[tuple[int, int, list[str]]], first_outbox: int) -> float:
    """Events a second of one worker handling these tweets' post events, appended beforehand (after
    whatever an earlier run left in the stream is drained, untimed)."""
    await drain(ctx, consumer="bench-trend-cost")
    now_ms = int(time.time() * 1000)
    for n, (tweet, author, tags) in enumerate(tweets):
        data = {"tweet": tweet, "author": author, "tags": tags}
        await events.append(ctx.redis, ctx.keys, first_outbox + n, "post", data, now_ms)
    started = time.perf_counter()
    handled = await drain(ctx, consumer="bench-trend-cost")
    return handled / (time.perf_counter() - started)


async def trend_cost(settings: Settings, neo4j: AsyncDriver, redis: Redis, per_round: int = 250) -> TrendCost:
    tweets = await recent_tagged(neo4j, per_round * ROUNDS)
    per_round = len(tweets) // ROUNDS
    if per_round == 0:
        raise RuntimeError("no recent tweet with hashtags: generate the data set again")
    keys = Keys(settings.redis_prefix)
    rates: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(ROUNDS):
        on = round_ % 2 == 0
        ctx = Fanout(settings=settings.model_copy(update={"trends": on}), neo4j=neo4j, redis=redis, keys=keys)
        await ensure_stream(ctx)
        chunk = tweets[round_ * per_round : (round_ + 1) * per_round]
        rates[on].append(await drain_rate(ctx, chunk, OUTBOX_BASE + round_ * per_round))
    on_rate, off_rate = sum(rates[True]) / len(rates[True]), sum(rates[False]) / len(rates[False])
    return TrendCost(per_round, on_rate, off_rate, on_rate / off_rate)
