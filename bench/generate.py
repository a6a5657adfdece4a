"""Generates a social graph with communities straight into Neo4j, in batches, with a progress bar.

Every user belongs to one of a few dozen to a few hundred communities of power-law sizes. Follow
counts (out-degree) are log-normal around a mean, with a few accounts following thousands; whom to
follow is drawn by preferential attachment to a Pareto popularity, mostly inside the follower's
own community (a stochastic block model with power-law degrees), so a few accounts collect tens of
thousands of followers while most have a handful, and friends of friends are often in the same
circle. Tweets go to authors in proportion to activity, with Snowflake ids spread over the last 30
days; their words come from a Zipf vocabulary and their hashtags from the author's community's own.
Likes go mostly to tweets of the liker's community. So who-to-follow, search and trends have
something real to find.
"""

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from neo4j import AsyncDriver
from tqdm import tqdm

from graph.folding import fold
from graph.search import day_of
from graph.snowflake import EPOCH_MS, SEQUENCE_BITS, WORKER_BITS

# Users and tweets of the benchmark carry ids from this range, well apart from any made by the app.
ID_BASE = 1 << 60
BATCH = 10_000
# Bumped whenever the data's shape changes (properties, edges): older data is then regenerated.
SHAPE_VERSION = 2

INSIDE_COMMUNITY = 0.8  # the share of follows and likes that stay inside the community
TAGS_PER_COMMUNITY = 20
VOCABULARY = 20_000
TOP_UP_ROUNDS = 4
HEAVY_FOLLOWING = 5_000  # a few users follow this many or more: the "following 5,000" viewers
INACTIVE_DAYS = 90  # activeAt of a user who never posted: long enough ago to count as inactive
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
FIRST_NAMES = ["Ada", "Zoë", "José", "Ana", "Björn", "Chloé", "Émile", "Ines", "Lucía", "Mark", "Nadia", "Omar"]
LAST_NAMES = ["Lovelace", "Müller", "García", "Smith", "Núñez", "Okafor", "Dubois", "Silva", "Kowalski", "Tanaka"]


@dataclass(frozen=True)
class Shape:
    users: int = 100_000
    follows: int = 5_000_000
    tweets: int = 1_000_000
    likes: int = 2_000_000
    seed: int = 7


def communities(users: int, rng: np.random.Generator) -> np.ndarray:
    """Each user's community, with Pareto sizes: about one community per thousand users, 50 to 200."""
    count = int(np.clip(users // 1000, 50, 200))
    sizes = rng.pareto(a=1.5, size=count) + 1
    return rng.choice(count, size=users, p=sizes / sizes.sum())


def weighted_pick(
    sources_group: np.ndarray, weights: np.ndarray, groups: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each source, an item drawn in proportion to weights among the items of the source's group
    (inverse transform on each group's slice of one cumulative sum, so it is vectorised)."""
    order = np.argsort(groups, kind="stable")
    cumulative = np.cumsum(weights[order])
    starts = np.searchsorted(groups[order], sources_group, side="left")
    ends = np.searchsorted(groups[order], sources_group, side="right")
    low = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    high = cumulative[ends - 1]
    picked = np.searchsorted(cumulative, low + rng.random(sources_group.size) * (high - low), side="right")
    picks: np.ndarray = order[np.clip(picked, starts, ends - 1)]
    return picks


def follow_edges(shape: Shape, community: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(follower index, followee index) pairs, without self-follows or duplicates. Draws inside a
    community repeat popular accounts, so each user's shortfall after removing duplicates is drawn
    again, from everyone, a few times: the out-degrees stay as drawn."""
    out_degree = rng.lognormal(mean=0.0, sigma=1.1, size=shape.users)
    out_degree = np.maximum(1, np.round(out_degree / out_degree.mean() * shape.follows / shape.users)).astype(np.int64)
    heavy = rng.choice(shape.users, size=max(5, shape.users // 5000), replace=False)
    out_degree[heavy] = rng.integers(HEAVY_FOLLOWING, int(HEAVY_FOLLOWING * 1.3), size=heavy.size)
    out_degree = np.minimum(out_degree, shape.users - 1)
    popularity = rng.pareto(a=1.2, size=shape.users) + 1
    popularity /= popularity.sum()
    sources = np.repeat(np.arange(shape.users), out_degree)
    inside = rng.random(sources.size) < INSIDE_COMMUNITY
    targets = rng.choice(shape.users, size=sources.size, p=popularity)
    targets[inside] = weighted_pick(community[sources[inside]], popularity, community, rng)
    pairs = np.unique(sources[sources != targets] * shape.users + targets[sources != targets])
    for _ in range(TOP_UP_ROUNDS):
        shortfall = out_degree - np.bincount(pairs // shape.users, minlength=shape.users)
        sources = np.repeat(np.arange(shape.users), np.maximum(shortfall, 0))
        targets = rng.choice(shape.users, size=sources.size, p=popularity)
        pairs = np.union1d(pairs, sources[sources != targets] * shape.users + targets[sources != targets])
    return pairs // shape.users, pairs % shape.users


def snowflakes(count: int, rng: np.random.Generator) -> np.ndarray:
    """Snowflake-shaped ids over the last 30 days, ascending and unique."""
    now_ms = int(time.time() * 1000) - EPOCH_MS - 60_000
    stamps = np.sort(rng.integers(now_ms - 30 * 86_400_000, now_ms, size=count))
    sequence = np.arange(count) % (1 << SEQUENCE_BITS)
    return (stamps << (WORKER_BITS + SEQUENCE_BITS)) | (1023 << SEQUENCE_BITS) | sequence


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    """Distinct made-up words of three to four syllables (never an English stop word)."""
    words: dict[str, None] = {}
    while len(words) < size:
        length = int(rng.integers(3, 5))
        words["".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), size=length))] = None
    return list(words)


def zipf(size: int, exponent: float = 1.0) -> np.ndarray:
    """Probabilities of ranks 1..size under a Zipf-Mandelbrot law, as word and tag use follow."""
    weights = 1.0 / (np.arange(size) + 2.7) ** exponent
    probabilities: np.ndarray = weights / weights.sum()
    return probabilities


def tweet_texts(
    author_community: np.ndarray, words: list[str], tags: list[str], rng: np.random.Generator
) -> tuple[list[str], list[list[str]]]:
    """Each tweet's text (6 to 14 Zipf words, then its hashtags as #tag) and its tags, lower-cased:
    none, one or two, drawn Zipf-wise from the author's community's TAGS_PER_COMMUNITY."""
    count = author_community.size
    lengths = rng.integers(6, 15, size=count)
    drawn = rng.choice(len(words), size=int(lengths.sum()), p=zipf(len(words)))
    tag_counts = rng.choice(3, size=count, p=[0.5, 0.35, 0.15])
    tag_ranks = rng.choice(TAGS_PER_COMMUNITY, size=(count, 2), p=zipf(TAGS_PER_COMMUNITY))
    texts, tweet_tags = [], []
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for n in range(count):
        chosen = list(
            dict.fromkeys(
                tags[author_community[n] * TAGS_PER_COMMUNITY + rank] for rank in tag_ranks[n, : tag_counts[n]]
            )
        )
        body = " ".join(words[i] for i in drawn[offsets[n] : offsets[n + 1]])
        texts.append(" ".join([body, *(f"#{tag}" for tag in chosen)]))
        tweet_tags.append(chosen)
    return texts, tweet_tags


def like_edges(
    shape: Shape, community: np.ndarray, authors: np.ndarray, activity: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(liker index, tweet index) pairs, unique: likers in proportion to activity, tweets mostly of
    their own community (uniformly among them), the rest anywhere."""
    likers = rng.choice(shape.users, size=shape.likes, p=activity / activity.sum())
    tweets = rng.integers(0, authors.size, size=shape.likes)
    inside = rng.random(shape.likes) < INSIDE_COMMUNITY
    tweet_community = community[authors]
    has_tweets = np.isin(community[likers], tweet_community)
    inside &= has_tweets
    tweets[inside] = weighted_pick(community[likers[inside]], np.ones(authors.size), tweet_community, rng)
    pairs = np.unique(likers * authors.size + tweets)
    return pairs // authors.size, pairs % authors.size


async def run_batches(
    driver: AsyncDriver, cypher: str, rows: list[dict[str, object]], label: str, **params: Any
) -> None:
    with tqdm(total=len(rows), desc=label, unit="rows", mininterval=2) as bar:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            await driver.execute_query(cypher, rows=chunk, **params)
            bar.update(len(chunk))


def _ms(snowflake: np.ndarray) -> np.ndarray:
    return (snowflake >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS


async def generate(driver: AsyncDriver, shape: Shape, password_hash: str) -> float:
    """Loads the graph, then marks its shape (already_generated); returns the wall time, in seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(shape.seed)
    user_ids = ID_BASE + np.arange(shape.users, dtype=np.int64)
    community = communities(shape.users, rng)
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=shape.users)
    authors = rng.choice(shape.users, size=shape.tweets, p=activity / activity.sum())
    ids = snowflakes(shape.tweets, rng)
    # ids ascend, so an author's last tweet is the last one written for them.
    active_at = np.full(shape.users, int(time.time() * 1000) - INACTIVE_DAYS * 86_400_000, dtype=np.int64)
    active_at[authors] = _ms(ids)
    names = [
        f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i // 7) % len(LAST_NAMES)]}" for i in range(shape.users)
    ]
    sources, targets = follow_edges(shape, community, rng)
    followers = np.bincount(targets, minlength=shape.users)
    await run_batches(
        driver,
        """
        UNWIND $rows AS row
        CREATE (:User {id: row.id, handle: row.handle, handleLower: row.handle, displayName: row.name,
                       nameKey: row.key, activeAt: row.activeAt, reach: row.reach, bio: '', passwordHash: $hash})
        """,
        [
            {
                "id": int(user_id),
                "handle": f"bench{i}",
                "name": names[i],
                "key": fold(names[i]),
                "activeAt": int(active_at[i]),
                "reach": str(len(str(followers[i]))),
            }
            for i, user_id in enumerate(user_ids)
        ],
        "users",
        hash=password_hash,
    )
    edge_ids = snowflakes(sources.size, rng)
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
    words = vocabulary(VOCABULARY, rng)
    tags = [f"{word}{c}" for c in range(int(community.max()) + 1) for word in words[:TAGS_PER_COMMUNITY]]
    await driver.execute_query("UNWIND $tags AS tag MERGE (:Hashtag {tag: tag})", tags=tags)
    texts, tweet_tags = tweet_texts(community[authors], words, tags, rng)
    await run_batches(
        driver,
        """
        UNWIND $rows AS row
        MATCH (a:User {id: row.author})
        CREATE (a)-[:POSTED]->(t:Tweet {id: row.id, authorId: row.author, text: row.text, hashtags: row.tags,
                                        day: row.day})
        WITH t, row
        UNWIND row.tags AS tag
        MATCH (h:Hashtag {tag: tag})
        CREATE (t)-[:TAGGED]->(h)
        """,
        [
            {"author": int(user_ids[author]), "id": int(tweet_id), "text": text, "tags": tweet_tag, "day": day_of(ms)}
            for author, tweet_id, text, tweet_tag, ms in zip(authors, ids, texts, tweet_tags, _ms(ids), strict=True)
        ],
        "tweets",
    )
    likers, liked = like_edges(shape, community, authors, activity, rng)
    like_ids = snowflakes(likers.size, rng)
    order = rng.permutation(likers.size)
    await run_batches(
        driver,
        """
        UNWIND $rows AS row
        MATCH (u:User {id: row.user}), (t:Tweet {id: row.tweet})
        CREATE (u)-[:LIKED {key: toString(row.user) + ':' + toString(row.tweet), id: row.id}]->(t)
        """,
        [
            {"user": int(user_ids[likers[i]]), "tweet": int(ids[liked[i]]), "id": int(like_ids[n])}
            for n, i in enumerate(order)
        ],
        "likes",
    )
    # Plans cached while the store was empty stay in use until Neo4j sees its statistics diverge (its
    # log showed such plans dropped 10 and 23 minutes after a load, while the first run read the graph
    # about twice as slowly): resample the indexes and drop those plans before anything is measured.
    await driver.execute_query("CALL db.prepareForReplanning(600)")
    await driver.execute_query("CREATE (:BenchShape $shape)", shape={"version": SHAPE_VERSION, **asdict(shape)})
    return time.perf_counter() - started


# Reads that bring every store file into Neo4j's page cache: nodes and relationships with their
# properties, the degrees of dense nodes (kept apart, in relationship groups), and each range index.
WARM_STORE = [
    "MATCH (n) RETURN count(properties(n)) AS n",
    "MATCH ()-[r]->() RETURN count(properties(r)) AS n",
    "MATCH (n) RETURN sum(COUNT { (n)--() }) AS n",
]


async def warm_store(driver: AsyncDriver) -> float:
    """Seconds spent reading the whole store once. Neo4j starts with its page cache empty (warming it
    up on start is an Enterprise feature), and reads missing it are several times slower: the first
    run after a restart measured search and uncached whoToFollow 1.5-3x as slow as the next."""
    started = time.perf_counter()
    for query in WARM_STORE:
        await driver.execute_query(query)
    indexes, _, _ = await driver.execute_query(
        "SHOW RANGE INDEXES YIELD entityType, labelsOrTypes, properties "
        "WHERE size(labelsOrTypes) = 1 RETURN entityType, labelsOrTypes[0] AS name, properties"
    )
    for index in indexes:
        present = " AND ".join(f"x.`{name}` IS NOT NULL" for name in index["properties"])
        pattern = f"(x:`{index['name']}`)" if index["entityType"] == "NODE" else f"()-[x:`{index['name']}`]->()"
        await driver.execute_query(f"MATCH {pattern} WHERE {present} RETURN count(*) AS n")
    return time.perf_counter() - started


async def already_generated(driver: AsyncDriver, shape: Shape) -> bool:
    """Whether the data set of this shape and version is there, complete (its mark is written last)."""
    records, _, _ = await driver.execute_query("MATCH (s:BenchShape) RETURN s {.*} AS shape")
    return [record["shape"] for record in records] == [{"version": SHAPE_VERSION, **asdict(shape)}]


async def wipe(driver: AsyncDriver) -> None:
    """Empties the bench's own database in batches, edges first (a celebrity's node holds tens of
    thousands), so that no transaction outgrows the heap; indexes and constraints stay."""
    async with driver.session() as session:
        for cypher in (
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS",
            "MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 50000 ROWS",
        ):
            await (await session.run(cypher)).consume()
