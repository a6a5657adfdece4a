"""Latency of the discovery reads over HTTP on the bench data, p50/p99 at a moderate fixed rate
(open loop, bench/load.py): searchTweets for a word and for a hashtag, searchUsers typeahead,
trending, and whoToFollow cached and uncached.

A moderate rate is half of what the API serves one request at a time (its median service time,
measured first), and at most RATE: a latency measured beyond what the server sustains would be
the queue's, growing with the length of the run. Uncached whoToFollow drops the viewer's list
before each request, a step only the httpx driver can take (bench/load.py): its figures carry that
client's own cost, a few milliseconds, which the `{ __typename }` floor shows for vegeta.

Queries are drawn from the data as users would type them: a word is a random word of a random
tweet (so frequent words come up as often as they are used; the most common ones, stop words in
effect, are measured apart), a hashtag a random tag, a typeahead 2 to 4 letters of a random user's
display name.
"""

import random
from collections import Counter
from collections.abc import Awaitable, Callable

from neo4j import AsyncDriver

from bench.generate import ID_BASE
from bench.load import Latency, latency_at, latency_with_step_at, service_seconds

SEARCH_TWEETS = """query($q: String!) { searchTweets(query: $q, first: 20) {
  edges { cursor node { id text createdAt likeCount author { id handle displayName } } }
  pageInfo { hasNextPage endCursor } } }"""
SEARCH_USERS = "query($q: String!) { searchUsers(query: $q, first: 8) { edges { node { id handle displayName } } } }"
TRENDING = "{ trending(first: 10, windowMinutes: 60) { tag count accountCount score } }"
WHO_TO_FOLLOW = """{ whoToFollow(first: 10) {
  user { id handle displayName } mutualCount reason followedBy(first: 3) { id handle } } }"""
FLOOR = "{ __typename }"  # the HTTP and GraphQL path alone, measured the same way
RATE = 50.0  # requests a second at most
LOAD_SHARE = 0.5  # of the rate served one at a time
QUERIES = 200  # queries of each kind
WORD_SAMPLE = 2000  # tweets whose words are drawn from
COMMON_SHARE = 0.001


async def sample_words(neo4j: AsyncDriver, rng: random.Random) -> tuple[list[str], list[str]]:
    """(content words, common words), each drawn by use from a sample of tweets. Common: used more
    than COMMON_SHARE of the time in the sample (the hundred or so top Zipf ranks, each in several
    per cent of tweets), which act as stop words: searches seldom look for them."""
    records, _, _ = await neo4j.execute_query(
        "MATCH (t:Tweet) WHERE rand() < 0.01 RETURN t.text AS text LIMIT $n", n=WORD_SAMPLE
    )
    uses = [word for record in records for word in record["text"].split() if not word.startswith("#")]
    counts = Counter(uses)
    common = [word for word in uses if counts[word] > COMMON_SHARE * len(uses)]
    content = [word for word in uses if counts[word] <= COMMON_SHARE * len(uses)]
    return rng.choices(content, k=QUERIES), rng.choices(common, k=QUERIES)


async def sample_tags(neo4j: AsyncDriver, rng: random.Random) -> list[str]:
    records, _, _ = await neo4j.execute_query("MATCH (h:Hashtag) RETURN h.tag AS tag")
    tags = [record["tag"] for record in records]
    return [f"#{rng.choice(tags)}" for _ in range(QUERIES)]


async def sample_prefixes(neo4j: AsyncDriver, rng: random.Random) -> list[str]:
    records, _, _ = await neo4j.execute_query(
        "MATCH (u:User) WHERE u.id >= $base AND rand() < 0.01 RETURN u.displayName AS name LIMIT $n",
        base=ID_BASE,
        n=QUERIES,
    )
    return [rng.choice(record["name"].split())[: rng.randint(2, 4)] for record in records]


def bodies(query: str, values: list[str]) -> list[dict[str, object]]:
    return [{"query": query, "variables": {"q": value}} for value in values]


async def search_latencies(neo4j: AsyncDriver, base_url: str, tokens: list[str], seconds: float) -> dict[str, Latency]:
    """searchTweets (a word, a hashtag), searchUsers typeahead, trending and the floor (a query that
    reads nothing), one after the other."""
    rng = random.Random(13)
    content, common = await sample_words(neo4j, rng)
    kinds: dict[str, list[dict[str, object]]] = {
        "search_word": bodies(SEARCH_TWEETS, content),
        "search_common_word": bodies(SEARCH_TWEETS, common),
        "search_hashtag": bodies(SEARCH_TWEETS, await sample_tags(neo4j, rng)),
        "search_users": bodies(SEARCH_USERS, await sample_prefixes(neo4j, rng)),
        "trending": [{"query": TRENDING}],
        "floor": [{"query": FLOOR}],
    }
    return {kind: await moderate_latency(base_url, tokens, seconds, requests) for kind, requests in kinds.items()}


async def moderate_latency(
    base_url: str,
    tokens: list[str],
    seconds: float,
    bodies: list[dict[str, object]],
    before: Callable[[int], Awaitable[None]] | None = None,
    requests: int = 30,
) -> Latency:
    """Latency at a moderate rate: LOAD_SHARE of what one request at a time sustains (the median of
    `requests` after as many uncounted ones), at most RATE."""
    rate = min(RATE, LOAD_SHARE / await service_seconds(base_url, tokens, bodies, before, requests))
    if before is None:
        return await latency_at(base_url, tokens, rate, seconds, bodies=bodies)
    return await latency_with_step_at(base_url, tokens, rate, seconds, bodies, before)


async def suggestion_latency(
    base_url: str, tokens: list[str], seconds: float, forget: Callable[[int], Awaitable[None]] | None = None
) -> Latency:
    """whoToFollow(first: 10) cycling through the viewers: cached (the uncounted requests that time
    one at a time, one per viewer, fill every cache first), or, with `forget(i)` dropping the cached
    suggestions of request i's viewer first, computed afresh each time (from the viewer's follow
    list, cached apart once read, as it is for anyone who has searched or asked before)."""
    requests = len(tokens) if forget is None else 30
    return await moderate_latency(base_url, tokens, seconds, [{"query": WHO_TO_FOLLOW}], forget, requests)
