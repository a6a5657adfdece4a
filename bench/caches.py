"""Cold rebuild time of one timeline, and Redis memory per cached timeline entry."""

import statistics
import time
from dataclasses import dataclass

import numpy as np
from neo4j import AsyncDriver
from redis.asyncio import Redis

from feeds.fanout import timeline_from_graph
from feeds.keys import Keys


@dataclass(frozen=True)
class Rebuild:
    viewers: int
    following: float
    p50_ms: float
    p99_ms: float


async def cold_rebuild(neo4j: AsyncDriver, viewers: list[int], following: float, cap: int) -> Rebuild:
    """The pull query for a cap's worth of entries: what a viewer with no cached timeline waits for."""
    durations = []
    for viewer in viewers:
        started = time.perf_counter()
        await timeline_from_graph(neo4j, viewer, cap)
        durations.append((time.perf_counter() - started) * 1000)
    return Rebuild(
        viewers=len(viewers),
        following=following,
        p50_ms=statistics.median(durations),
        p99_ms=float(np.percentile(durations, 99)),
    )


async def bytes_per_entry(redis: Redis, keys: Keys) -> tuple[int, int, float]:
    """(timelines, entries, MEMORY USAGE bytes per entry) over every cached timeline."""
    timelines = entries = used = 0
    async for key in redis.scan_iter(match=keys.timeline(0)[:-1] + "*", count=1000):
        length = await redis.strlen(key)
        usage = await redis.memory_usage(key, samples=0)
        if length and usage:
            truncated = await redis.getrange(key, -8, -1) == bytes(8)
            timelines += 1
            entries += length // 8 - truncated
            used += usage
    return timelines, entries, used / entries if entries else float("nan")
