"""Generates a power-law social graph straight into Neo4j, in batches, with a progress bar.

Follow counts (out-degree) are log-normal around a mean; whom to follow is drawn by preferential
attachment to a Pareto popularity, so a few accounts collect tens of thousands of followers
(celebrities) while most have a handful. Tweets go to authors in proportion to activity, with
Snowflake ids spread over the last 30 days, so timelines interleave as they would in life.
"""

import random
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from neo4j import AsyncDriver
from tqdm import tqdm

from graph.snowflake import EPOCH_MS, SEQUENCE_BITS, WORKER_BITS

# Users and tweets of the benchmark carry ids from this range, well apart from any made by the app.
ID_BASE = 1 << 60
BATCH = 10_000


@dataclass(frozen=True)
class Shape:
    users: int = 100_000
    follows: int = 5_000_000
    tweets: int = 1_000_000
    seed: int = 7


def follow_edges(shape: Shape, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(follower index, followee index) pairs, without self-follows or duplicates."""
    out_degree = rng.lognormal(mean=0.0, sigma=1.1, size=shape.users)
    out_degree = np.maximum(1, np.round(out_degree / out_degree.mean() * shape.follows / shape.users)).astype(np.int64)
    out_degree = np.minimum(out_degree, shape.users - 1)
    popularity = rng.pareto(a=1.2, size=shape.users) + 1
    popularity /= popularity.sum()
    sources = np.repeat(np.arange(shape.users), out_degree)
    targets = rng.choice(shape.users, size=sources.size, p=popularity)
    keep = sources != targets
    pairs = np.unique(np.stack([sources[keep], targets[keep]], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def tweet_ids(count: int, rng: np.random.Generator) -> np.ndarray:
    """Snowflake-shaped ids over the last 30 days, ascending and unique."""
    now_ms = int(time.time() * 1000) - EPOCH_MS - 60_000
    stamps = np.sort(rng.integers(now_ms - 30 * 86_400_000, now_ms, size=count))
    sequence = np.arange(count) % (1 << SEQUENCE_BITS)
    return (stamps << (WORKER_BITS + SEQUENCE_BITS)) | (1023 << SEQUENCE_BITS) | sequence


async def run_batches(
    driver: AsyncDriver, cypher: str, rows: list[dict[str, object]], label: str, **params: Any
) -> None:
    with tqdm(total=len(rows), desc=label, unit="rows", mininterval=2) as bar:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            await driver.execute_query(cypher, rows=chunk, **params)
            bar.update(len(chunk))


async def generate(driver: AsyncDriver, shape: Shape, password_hash: str) -> float:
    """Loads the graph; returns the wall time it took, in seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(shape.seed)
    user_ids = ID_BASE + np.arange(shape.users, dtype=np.int64)
    await run_batches(
        driver,
        """
        UNWIND $rows AS row
        CREATE (:User {id: row.id, handle: row.handle, handleLower: row.handle, displayName: row.handle,
                       bio: '', passwordHash: $hash})
        """,
        [{"id": int(user_id), "handle": f"bench{index}"} for index, user_id in enumerate(user_ids)],
        "users",
        hash=password_hash,
    )
    sources, targets = follow_edges(shape, rng)
    edge_ids = tweet_ids(sources.size, rng)
    order = rng.permutation(sources.size)
    await run_batches(
        driver,
        """
        UNWIND $rows AS row
        MATCH (a:User {id: row.a}), (b:User {id: row.b})
        CREATE (a)-[:FOLLOWS {key: toString(row.a) + ':' + toString(row.b), id: row.id}]->(b)
        """,
        [
            {"a": int(user_ids[sources[i]]), "b": int(user_ids[targets[i]]), "id": int(edge_ids[n])}
            for n, i in enumerate(order)
        ],
        "follows",
    )
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=shape.users)
    authors = rng.choice(shape.users, size=shape.tweets, p=activity / activity.sum())
    ids = tweet_ids(shape.tweets, rng)
    await run_batches(
        driver,
        """
        UNWIND $rows AS row
        MATCH (a:User {id: row.author})
        CREATE (a)-[:POSTED]->(:Tweet {id: row.id, authorId: row.author, text: row.text, hashtags: []})
        """,
        [
            {"author": int(user_ids[author]), "id": int(tweet_id), "text": f"tweet {n} {random.random():.6f}"}
            for n, (author, tweet_id) in enumerate(zip(authors, ids, strict=True))
        ],
        "tweets",
    )
    return time.perf_counter() - started


async def already_generated(driver: AsyncDriver, shape: Shape) -> bool:
    records, _, _ = await driver.execute_query("MATCH (u:User) WHERE u.id >= $base RETURN count(u) AS n", base=ID_BASE)
    return int(records[0]["n"]) == shape.users
