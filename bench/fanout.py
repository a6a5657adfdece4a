"""Fan-out speed of one worker process: one tweet to 20,000 active followers, several times.

The followers' timelines are filled to the cap first, as an active reader's would be, so
every insert moves a full window.
"""

import random
import statistics
import time
from dataclasses import dataclass

from neo4j import AsyncDriver
from redis.asyncio import Redis

from bench.generate import ID_BASE
from feeds.fanout import Fanout, deliver
from feeds.keys import Keys
from feeds.packed import free_slots, pack
from settings import Settings

AUTHOR_ID = ID_BASE - 1  # a user of the benchmark's own, apart from the generated ones


@dataclass(frozen=True)
class FanoutResult:
    followers: int
    seconds_p50: float
    deliveries_per_second: float


async def fanout_speed(settings: Settings, neo4j: AsyncDriver, redis: Redis, followers: list[int]) -> FanoutResult:
    keys = Keys(settings.redis_prefix)
    await neo4j.execute_query(
        """
        MERGE (a:User {id: $id})
        ON CREATE SET a.handle = 'benchauthor', a.handleLower = 'benchauthor', a.displayName = 'bench', a.bio = ''
        WITH a
        UNWIND $followers AS follower
        MATCH (f:User {id: follower})
        MERGE (f)-[:FOLLOWS {key: toString(follower) + ':' + toString($id)}]->(a)
        """,
        id=AUTHOR_ID,
        followers=followers,
    )
    old = tuple(sorted(random.sample(range(ID_BASE, ID_BASE * 2), settings.timeline_cap), reverse=True))
    full = pack(old, truncated=True, free=free_slots(len(old)))
    async with redis.pipeline(transaction=False) as pipe:
        for follower in followers:
            pipe.set(keys.timeline(follower), full, ex=3600)
        await pipe.execute()
    # Pushed whatever the follower count: this measures pushing.
    ctx = Fanout(
        settings=settings.model_copy(update={"celebrity_threshold": 10**9}), neo4j=neo4j, redis=redis, keys=keys
    )
    durations = []
    for round_ in range(5):
        tweet_id = ID_BASE * 3 + round_ + int(time.time())
        await neo4j.execute_query(
            """
            MATCH (a:User {id: $author})
            CREATE (a)-[:POSTED]->(:Tweet {id: $id, authorId: $author, text: 'fan me out', hashtags: []})
            """,
            author=AUTHOR_ID,
            id=tweet_id,
        )
        started = time.perf_counter()
        await deliver(ctx, tweet_id, AUTHOR_ID)
        durations.append(time.perf_counter() - started)
    seconds = statistics.median(durations)
    # Those timelines held made-up ids: gone, the next read rebuilds them from Neo4j.
    await redis.delete(*(keys.timeline(follower) for follower in followers))
    await neo4j.execute_query(
        "MATCH (a:User {id: $id}) OPTIONAL MATCH (a)-[:POSTED]->(t) DETACH DELETE t, a", id=AUTHOR_ID
    )
    return FanoutResult(
        followers=len(followers) + 1, seconds_p50=seconds, deliveries_per_second=len(followers) / seconds
    )
