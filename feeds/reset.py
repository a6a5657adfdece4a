"""`python -m feeds.reset`: Redis forgets everything Chirp keeps there, and the celebrity set is
reconciled with Neo4j. scripts/restore.sh runs it once Neo4j is restored.

Redis holds only what Neo4j rebuilds, so it is not backed up; but what it holds after a restore
describes the graph of before it (timelines with tweets the restore took away, events about them),
and would be served as it is. Without it, every timeline and cache is rebuilt from the restored
graph on its next read. Stop the fan-out workers first: they make their consumer group again when
they start.
"""

import asyncio
import logging
import re

from redis.asyncio import Redis

from feeds.client import open_redis
from feeds.worker import reconcile
from settings import Settings

logger = logging.getLogger("chirp.reset")

BATCH = 1000


async def forget(redis: Redis, prefix: str) -> int:
    """Deletes every key under the prefix; returns how many there were."""
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
    forgotten = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=pattern, count=BATCH):
        batch.append(key)
        if len(batch) == BATCH:
            forgotten += await redis.unlink(*batch)
            batch = []
    if batch:
        forgotten += await redis.unlink(*batch)
    return forgotten


async def reset(settings: Settings) -> tuple[int, int]:
    """(keys forgotten, celebrity crossings reconciled)."""
    redis = open_redis(settings)
    try:
        forgotten = await forget(redis, settings.redis_prefix)
    finally:
        await redis.aclose()
    return forgotten, await reconcile(settings)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[chirp] %(message)s")
    forgotten, crossings = asyncio.run(reset(Settings()))
    logger.info("Redis forgot %d keys; the celebrity set is reconciled with Neo4j (%d crossings)", forgotten, crossings)


if __name__ == "__main__":
    main()
