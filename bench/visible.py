"""Post-to-visible: from createTweet returning to the tweet sitting in a follower's cached timeline.

Tweets are posted over HTTP at a fixed rate by authors below the celebrity threshold; the worker
publishes each delivery on the follower's live channel right after writing it, which is when
the tweet becomes readable there.
"""

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

import httpx
import numpy as np
from redis.asyncio import Redis

from feeds.keys import Keys
from resolvers.ids import from_global_id

CREATE = "mutation($input: CreateTweetInput!) { createTweet(input: $input) { id } }"


@dataclass(frozen=True)
class Visible:
    rate: float
    posted: int
    seen: int
    p50_ms: float
    p99_ms: float


async def post_to_visible(
    base_url: str,
    redis: Redis,
    keys: Keys,
    pairs: list[tuple[str, int, int]],
    rate: float,
    seconds: float,
) -> Visible:
    """pairs: (author token, author id, a follower with a cached timeline)."""
    returned: dict[int, tuple[int, float]] = {}  # tweet -> (watched follower, when createTweet returned)
    arrived: dict[tuple[int, int], float] = {}  # (follower, tweet) -> when the delivery was published
    waiting: set[tuple[int, int]] = set()  # watched deliveries not seen yet
    pubsub = redis.pubsub()
    await pubsub.psubscribe(keys.live_viewer(0)[:-1] + "*")

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            viewer = int(message["channel"].rsplit(b":", 1)[1])
            delivery = (viewer, json.loads(message["data"])["tweet"])
            arrived.setdefault(delivery, time.perf_counter())
            waiting.discard(delivery)
            if len(returned) == count and not waiting:
                all_seen.set()

    count = int(rate * seconds)
    all_seen = asyncio.Event()
    listener = asyncio.create_task(listen())
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        start = time.perf_counter()

        async def post(index: int) -> None:
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            token, _, follower = pairs[index % len(pairs)]
            response = await client.post(
                "/graphql",
                json={"query": CREATE, "variables": {"input": {"text": f"visible? {index}"}}},
                headers={"Authorization": f"Bearer {token}"},
            )
            tweet = from_global_id(response.json()["data"]["createTweet"]["id"], "Tweet")
            returned[tweet] = (follower, time.perf_counter())
            if (follower, tweet) not in arrived:
                waiting.add((follower, tweet))

        await asyncio.gather(*(post(index) for index in range(count)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_seen.wait(), timeout=10)
    listener.cancel()
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    # A delivery published before the HTTP answer reached the client counts as visible at once.
    delays = [
        max(0.0, arrived[(follower, tweet)] - at) * 1000
        for tweet, (follower, at) in returned.items()
        if (follower, tweet) in arrived
    ]
    return Visible(
        rate=rate,
        posted=count,
        seen=len(delays),
        p50_ms=float(np.percentile(delays, 50)) if delays else float("nan"),
        p99_ms=float(np.percentile(delays, 99)) if delays else float("nan"),
    )
