"""Search freshness: from createTweet returning to the tweet being found by searchTweets, while
bench users post at a fixed rate (after as many seconds of posting, uncounted, as latency_at warms
up). Every post of a run carries the run's own word, and one poller searches for that word (newest
first) every POLL_MS, noting when each tweet first shows up: the searching costs the server the
same whatever the posting rate."""

import asyncio
import secrets
import time
from dataclasses import dataclass

import httpx
import numpy as np

from bench.visible import CREATE
from resolvers.ids import from_global_id

SEARCH = """query($q: String!, $after: String) { searchTweets(query: $q, first: 100, after: $after) {
  edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
POLL_MS = 50
GIVE_UP_SECONDS = 10.0


@dataclass(frozen=True)
class Freshness:
    rate: float
    posted: int
    found: int
    p50_ms: float
    p99_ms: float


async def create(client: httpx.AsyncClient, token: str, text: str) -> str | None:
    """The new tweet's id, or None when createTweet failed (say, a service timed out)."""
    try:
        response = await client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": {"text": text}}},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.TransportError:
        return None
    data = response.json().get("data")
    return data["createTweet"]["id"] if data else None


async def warm_up(client: httpx.AsyncClient, tokens: list[str], rate: float, count: int) -> None:
    """Posts at the rate, uncounted: a process's first posts pay for its cold paths and connections."""
    start = time.perf_counter()

    async def post(index: int) -> None:
        await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        await create(client, tokens[index % len(tokens)], f"warming up, {index}")

    await asyncio.gather(*(post(index) for index in range(count)))


async def freshness(
    base_url: str, tokens: list[str], rate: float, seconds: float, warmup_seconds: float = 3.0
) -> Freshness:
    """tokens: the posters', taken in turn."""
    word = f"fresh{secrets.token_hex(4)}"
    count = int(rate * seconds)
    returned: dict[str, float] = {}  # tweet -> when its createTweet returned
    seen: dict[str, float] = {}  # tweet -> when the search first showed it
    failed = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        await warm_up(client, tokens, rate, int(rate * warmup_seconds))
        start = time.perf_counter()

        async def post(index: int) -> None:
            nonlocal failed
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            tweet = await create(client, tokens[index % len(tokens)], f"is {word} findable yet, {index}")
            if tweet is None:  # counts as never found
                failed += 1
            else:
                returned[tweet] = time.perf_counter()

        headers = {"Authorization": f"Bearer {tokens[0]}"}

        async def newest() -> None:
            """Pages back through the run's tweets, newest first, past the oldest one returned but not
            seen yet (or through the first page when every returned one was seen): ids are taken
            before the commit, so a tweet can become searchable after newer ones, below a page that
            holds seen tweets."""
            unseen = [from_global_id(tweet, "Tweet") for tweet in returned if tweet not in seen]
            oldest_unseen = min(unseen, default=None)
            after = None
            while True:
                variables = {"q": word, "after": after}
                response = await client.post(
                    "/graphql", json={"query": SEARCH, "variables": variables}, headers=headers
                )
                now, data = time.perf_counter(), response.json().get("data")
                if not data:  # a failed search: the next poll tries again
                    return
                page = data["searchTweets"]
                ids = [edge["node"]["id"] for edge in page["edges"]]
                for tweet in ids:
                    seen.setdefault(tweet, now)
                past_unseen = oldest_unseen is None or not ids or from_global_id(ids[-1], "Tweet") <= oldest_unseen
                if past_unseen or not page["pageInfo"]["hasNextPage"]:
                    return
                after = page["pageInfo"]["endCursor"]

        async def poll() -> None:
            deadline = start + seconds + GIVE_UP_SECONDS
            while time.perf_counter() < deadline and len(seen) + failed < count:
                await newest()
                await asyncio.sleep(POLL_MS / 1000)

        await asyncio.gather(poll(), *(post(index) for index in range(count)))
    # A tweet never found counts as found infinitely late: p99 is infinite once more than 1% are. One
    # found before its createTweet answer arrived was searchable when it returned: no delay.
    delays = [max(0.0, seen[tweet] - at) * 1000 if tweet in seen else np.inf for tweet, at in returned.items()]
    values = np.array(delays + [np.inf] * failed)
    p50, p99 = (float(np.percentile(values, q, method="higher")) for q in (50, 99))
    return Freshness(rate, count, int(np.isfinite(values).sum()), p50, p99)
