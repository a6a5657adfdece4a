"""Who-to-follow quality: hide 10% of the follows of sampled users (never those the ranking was
fitted on, `is_held_out`), ask for ten suggestions each, and score them against the hidden follows
(recall@10, NDCG@10), beside baselines on the same hidden sets: global popularity, plain
friends-of-friends by mutual count, and the same over the accounts whoToFollow may suggest (active
within 60 days: a hidden follow of an inactive account is one whoToFollow never finds).

The hidden FOLLOWS edges are deleted in Neo4j for the length of the phase, with their properties
remembered, and always put back.
"""

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from neo4j import AsyncDriver

from resolvers.suggestions import INACTIVE_MS

K = 10
SAMPLE = 1000  # users whose follows are hidden
HIDDEN_SHARE = 0.1
MIN_FOLLOWING = 10  # a user with fewer has no tenth to hide
CONCURRENCY = 4

Recommend = Callable[[int], Awaitable[Sequence[int]]]  # a viewer's ranked suggestions


@dataclass(frozen=True)
class Edge:
    follower: int
    followee: int
    key: str
    id: int


@dataclass(frozen=True)
class Quality:
    users: int
    recall: float
    ndcg: float


def is_held_out(user: int) -> bool:
    """Quality is measured on odd ids only: bench/weights.py fits the ranking on the even ones."""
    return user % 2 == 1


def recall_at(ranked: Sequence[int], relevant: set[int], k: int = K) -> float:
    """The share of the relevant items found in the first k."""
    return len(set(ranked[:k]) & relevant) / len(relevant)


def ndcg_at(ranked: Sequence[int], relevant: set[int], k: int = K) -> float:
    """Discounted gain of the first k (1/log2(rank + 1) per relevant item), over the best possible."""
    gain = sum(1 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    best = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return gain / best


def score(ranked: Mapping[int, Sequence[int]], hidden: Mapping[int, set[int]], k: int = K) -> Quality:
    """Means over the users with hidden follows (a user with no suggestion scores 0)."""
    users = list(hidden)
    return Quality(
        users=len(users),
        recall=sum(recall_at(ranked.get(user, ()), hidden[user], k) for user in users) / len(users),
        ndcg=sum(ndcg_at(ranked.get(user, ()), hidden[user], k) for user in users) / len(users),
    )


def sample_users(users: Sequence[tuple[int, int, int]], held_out: bool, count: int, rng: random.Random) -> list[int]:
    """`count` users (user, following, followers) with a tenth of their follows to hide, from the
    held-out half or the other."""
    eligible = [user for user, following, _ in users if following >= MIN_FOLLOWING and is_held_out(user) == held_out]
    return rng.sample(eligible, min(count, len(eligible)))


def hidden_by_user(edges: Iterable[Edge]) -> dict[int, set[int]]:
    """Each follower's hidden followees."""
    hidden: dict[int, set[int]] = {}
    for edge in edges:
        hidden.setdefault(edge.follower, set()).add(edge.followee)
    return hidden


def choose_hidden(follows: Mapping[int, Sequence[Edge]], rng: random.Random) -> list[Edge]:
    """A tenth (at least one) of each user's follows, drawn at random."""
    return [
        edge for edges in follows.values() for edge in rng.sample(list(edges), max(1, round(len(edges) * HIDDEN_SHARE)))
    ]


def popular_for(popular: Sequence[int], viewer: int, following: set[int], k: int = K) -> list[int]:
    """The k most followed accounts that are neither the viewer nor followed (popular: best first)."""
    chosen: list[int] = []
    for user in popular:
        if user != viewer and user not in following:
            chosen.append(user)
            if len(chosen) == k:
                break
    return chosen


async def follows_of(neo4j: AsyncDriver, users: Iterable[int]) -> dict[int, list[Edge]]:
    """In a set order, not the store's (which hiding and restoring edges changes): the same seed
    hides the same follows in every run."""
    records, _, _ = await neo4j.execute_query(
        """
        UNWIND $users AS user
        MATCH (:User {id: user})-[f:FOLLOWS]->(b:User)
        RETURN user, b.id AS followee, f.key AS key, f.id AS id ORDER BY user, followee
        """,
        users=list(users),
    )
    follows: dict[int, list[Edge]] = {}
    for record in records:
        follows.setdefault(record["user"], []).append(
            Edge(record["user"], record["followee"], record["key"], record["id"])
        )
    return follows


@asynccontextmanager
async def hidden_follows(
    neo4j: AsyncDriver, edges: Sequence[Edge], forget: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """The edges are gone from Neo4j inside the block, and back after it, whatever happens;
    `forget` runs once they are gone and once they are back."""
    rows = [{"a": edge.follower, "b": edge.followee, "key": edge.key, "id": edge.id} for edge in edges]
    try:
        await neo4j.execute_query(
            "UNWIND $rows AS row MATCH (:User {id: row.a})-[f:FOLLOWS {key: row.key}]->() DELETE f", rows=rows
        )
        await forget()
        yield
    finally:
        await neo4j.execute_query(
            """
            UNWIND $rows AS row
            MATCH (a:User {id: row.a}), (b:User {id: row.b})
            MERGE (a)-[f:FOLLOWS {key: row.key}]->(b) ON CREATE SET f.id = row.id
            """,
            rows=rows,
        )
        await forget()


async def friends_of_friends(neo4j: AsyncDriver, viewer: int, active_since_ms: int = 0, k: int = K) -> list[int]:
    """Plain friends-of-friends: the accounts most followed by the viewer's follows, by mutual
    count alone (ties by id, which says nothing of the account), never the viewer or followed;
    only those active since `active_since_ms` when given (the accounts whoToFollow may suggest)."""
    records, _, _ = await neo4j.execute_query(
        """
        MATCH (v:User {id: $viewer})-[:FOLLOWS]->(:User)-[:FOLLOWS]->(c:User)
        WHERE c <> v AND NOT (v)-[:FOLLOWS]->(c) AND c.activeAt >= $activeSince
        RETURN c.id AS id, count(*) AS mutual ORDER BY mutual DESC, id LIMIT $k
        """,
        viewer=viewer,
        activeSince=active_since_ms,
        k=k,
    )
    return [record["id"] for record in records]


async def ranked_by(recommend: Recommend, viewers: Sequence[int]) -> dict[int, Sequence[int]]:
    """Each viewer's suggestions, CONCURRENCY at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(viewer: int) -> tuple[int, Sequence[int]]:
        async with gate:
            return viewer, await recommend(viewer)

    return dict(await asyncio.gather(*(one(viewer) for viewer in viewers)))


async def who_to_follow_quality(
    neo4j: AsyncDriver,
    users: Sequence[tuple[int, int, int]],
    recommend: Recommend | None,
    rng: random.Random,
    forget: Callable[[list[int]], Awaitable[None]],
    sample: int = SAMPLE,
) -> dict[str, Quality]:
    """users: (user, following, followers) of everyone. Scores popularity, friends-of-friends and
    whoToFollow (`recommend`, when given) on the same `sample` users and hidden follows, while they are hidden.
    `forget` drops cached suggestions: the edges change behind the app's back, so its caches of
    the sampled users are dropped once they are hidden and again once they are back."""
    follows = await follows_of(neo4j, sample_users(users, True, sample, rng))
    hidden_edges = choose_hidden(follows, rng)
    hidden = hidden_by_user(hidden_edges)
    followers = {user: count for user, _, count in users}
    for edge in hidden_edges:
        followers[edge.followee] -= 1
    popular = sorted(followers, key=lambda user: (-followers[user], user))[: K + max(len(e) for e in follows.values())]
    kept = {user: {edge.followee for edge in edges} - hidden[user] for user, edges in follows.items()}
    results = {"popularity": score({user: popular_for(popular, user, kept[user]) for user in hidden}, hidden)}
    async with hidden_follows(neo4j, hidden_edges, lambda: forget(list(hidden))):
        results["friends_of_friends"] = score(
            await ranked_by(lambda viewer: friends_of_friends(neo4j, viewer), list(hidden)), hidden
        )
        active_since = int(time.time() * 1000) - INACTIVE_MS
        results["friends_of_friends_active"] = score(
            await ranked_by(lambda viewer: friends_of_friends(neo4j, viewer, active_since), list(hidden)), hidden
        )
        if recommend is not None:
            results["who_to_follow"] = score(await ranked_by(recommend, list(hidden)), hidden)
    return results
