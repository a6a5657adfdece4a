"""Post-to-visible and post-to-subscriber: from createTweet returning to the tweet reaching a
follower, at a fixed posting rate, by authors below the celebrity threshold.

- Visible: the worker publishes each delivery on the follower's live channel right after writing
  it into their cached timeline, which is when the tweet becomes readable there.
- Subscriber: the tweet arrives on the follower's homeTimeline subscription, a WebSocket to the API
  (the worker's publication, relayed by the API process and hydrated for that subscriber).
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from feeds.keys import Keys
from resolvers.ids import from_global_id

CREATE = "mutation($input: CreateTweetInput!) { createTweet(input: $input) { id } }"
SUBSCRIBE = "subscription { homeTimeline { node { id } } }"

Seen = Callable[[int, int], None]  # (follower, tweet) arrived now
# Runs until cancelled, calling Seen on each arrival; sets the event once it is watching.
Watcher = Callable[[Seen, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Visible:
    rate: float
    posted: int
    seen: int
    p50_ms: float
    p99_ms: float


async def post_and_watch(
    base_url: str, pairs: list[tuple[str, int, int]], rate: float, seconds: float, watch: Watcher
) -> Visible:
    """pairs: (author token, author id, a follower with a cached timeline)."""
    returned: dict[int, tuple[int, float]] = {}  # tweet -> (watched follower, when createTweet returned)
    arrived: dict[tuple[int, int], float] = {}  # (follower, tweet) -> when it arrived
    waiting: set[tuple[int, int]] = set()  # watched deliveries not seen yet
    count = int(rate * seconds)
    all_seen = asyncio.Event()

    def seen(follower: int, tweet: int) -> None:
        arrived.setdefault((follower, tweet), time.perf_counter())
        waiting.discard((follower, tweet))
        if len(returned) == count and not waiting:
            all_seen.set()

    watching = asyncio.Event()
    watcher = asyncio.create_task(watch(seen, watching))
    await asyncio.wait_for(watching.wait(), timeout=60)
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
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    # Arrivals before the HTTP answer reached the client count as at once.
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


def published(redis: Redis, keys: Keys, followers: list[int]) -> Watcher:
    """Deliveries as the worker publishes them on the watched followers' live channels (those only:
    every follower's channel would flood this process with hundreds of thousands of messages a second)."""

    async def watch(seen: Seen, watching: asyncio.Event) -> None:
        pubsub = redis.pubsub()
        await pubsub.subscribe(*(keys.live_viewer(follower) for follower in followers))
        watching.set()
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    follower = int(message["channel"].rsplit(b":", 1)[1])
                    seen(follower, json.loads(message["data"])["tweet"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    return watch


async def every_subscription_started(base_url: str, count: int) -> None:
    """Until the API relays to `count` subscriptions (its chirp_live_listeners gauge)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        while True:
            families = text_string_to_metric_families((await client.get("/metrics/")).text)
            listeners = sum(s.value for f in families if f.name == "chirp_live_listeners" for s in f.samples)
            if listeners >= count:
                return
            await asyncio.sleep(0.2)


@asynccontextmanager
async def subscription(base_url: str, token: str, query: str = SUBSCRIBE) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws socket, acknowledged and subscribed (operation id "1") with `query`."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"the subscription was not acknowledged: {ack}")
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield socket


def subscribed(base_url: str, followers: dict[int, str]) -> Watcher:
    """Tweets as they arrive on each follower's homeTimeline subscription ({follower: token})."""

    async def follow(follower: int, token: str, seen: Seen, subscribed: asyncio.Event) -> None:
        async with subscription(base_url, token) as socket:
            subscribed.set()
            async for raw in socket:
                message = json.loads(raw)
                if message["type"] == "next" and message["payload"].get("data"):
                    node_id = message["payload"]["data"]["homeTimeline"]["node"]["id"]
                    seen(follower, from_global_id(node_id, "Tweet"))

    async def watch(seen: Seen, watching: asyncio.Event) -> None:
        events = {follower: asyncio.Event() for follower in followers}
        tasks = [asyncio.create_task(follow(f, t, seen, events[f])) for f, t in followers.items()]
        try:
            await asyncio.gather(*(event.wait() for event in events.values()))
            await every_subscription_started(base_url, len(followers))
            watching.set()
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return watch
