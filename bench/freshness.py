"""Search freshness: from createTweet returning to the tweet being found by searchTweets, while
bench users post at a fixed rate. Each post carries a word of its own, and is searched for every
POLL_MS from the moment its createTweet returned until it is found (or GIVE_UP_SECONDS pass)."""

import asyncio
import secrets
import time
from dataclasses import dataclass

import httpx
import numpy as np

from bench.visible import CREATE

SEARCH = "query($q: String!) { searchTweets(query: $q, first: 1) { edges { node { id } } } }"
POLL_MS = 20
GIVE_UP_SECONDS = 10.0


@dataclass(frozen=True)
class Freshness:
    rate: float
    posted: int
    found: int
    p50_ms: float
    p99_ms: float


async def found_after(client: httpx.AsyncClient, token: str, word: str, tweet: str, returned: float) -> float | None:
    """Seconds from `returned` until the search for `word` first shows the tweet, or None."""
    headers = {"Authorization": f"Bearer {token}"}
    while time.perf_counter() - returned < GIVE_UP_SECONDS:
        response = await client.post("/graphql", json={"query": SEARCH, "variables": {"q": word}}, headers=headers)
        edges = response.json()["data"]["searchTweets"]["edges"]
        if any(edge["node"]["id"] == tweet for edge in edges):
            return time.perf_counter() - returned
        await asyncio.sleep(POLL_MS / 1000)
    return None


async def freshness(base_url: str, tokens: list[str], rate: float, seconds: float) -> Freshness:
    """tokens: the posters', taken in turn."""
    run = secrets.token_hex(4)
    count = int(rate * seconds)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        start = time.perf_counter()

        async def post(index: int) -> float | None:
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            token, word = tokens[index % len(tokens)], f"fresh{run}n{index}"
            response = await client.post(
                "/graphql",
                json={"query": CREATE, "variables": {"input": {"text": f"is {word} findable yet"}}},
                headers={"Authorization": f"Bearer {token}"},
            )
            returned = time.perf_counter()
            tweet = response.json()["data"]["createTweet"]["id"]
            return await found_after(client, token, word, tweet, returned)

        delays = await asyncio.gather(*(post(index) for index in range(count)))
    # A tweet never found counts as found infinitely late: p99 is infinite once more than 1% are.
    values = np.array([np.inf if delay is None else delay * 1000 for delay in delays])
    found = int(np.isfinite(values).sum())
    p50, p99 = (float(np.percentile(values, q, method="higher")) for q in (50, 99))
    return Freshness(rate, count, found, p50, p99)
