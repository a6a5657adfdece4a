"""The soak: minutes of steady mixed load on the bench data against one API process and one fan-out
worker, for what a short benchmark cannot show: latency that drifts, memory that keeps growing, a
backlog that builds up, subscriptions that stop receiving.

The load is open loop at a bounded rate sized for a 2-core machine (each request sent on its
schedule and its latency counted from then, so a stall shows as queueing, not as fewer requests):
homeTimeline reads, createTweet, like, and follow/unfollow toggles, by many bench users. Beside it,
homeTimeline subscriptions of users who follow the posters, counted against what they should get.
Every 5 s it reads the API's and the worker's VmRSS and CPU time, and the app's /metrics (the stream backlog,
the outbox's gauges where the app has them).
"""

import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, WebSocketException

from bench.load import QUERY
from bench.soak_report import Record, Sample, build_report, draw, print_table
from bench.suite import API_PORT, RESULTS, api, bench_clients, caught_up, degrees, followed, process, warm
from bench.tally import classify, cpu_seconds, gauges, machine_cpu_seconds, vm_rss_bytes
from bench.visible import CREATE, every_subscription_started, subscription
from feeds.fanout import Fanout, sync_celebrities
from resolvers.auth import issue_token
from resolvers.clients import Clients
from resolvers.ids import from_global_id, to_global_id

LIKE = "mutation($id: ID!) { like(tweetId: $id) { id likeCount } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { id } }"

# Shares of the request rate. Follows are toggled (follow, later unfollow) so the graph ends as it began.
MIX = {"read": 0.6, "post": 0.15, "like": 0.15, "follow": 0.1}
READERS = 2000
POSTERS = 2000
FOLLOWERS = 1000  # distinct, each toggling one follow: ~4 follow actions each in 10 minutes, far from their budget
TAGS = 20
CONNECTIONS = 64
QUEUE_SECONDS = 30.0
SAMPLE_SECONDS = 5.0
GRACE_SECONDS = 10.0  # after the load, for the last posts to reach their subscribers
GAUGES = ("chirp_fanout_backlog_events", "chirp_outbox_entries", "chirp_outbox_oldest_seconds", "chirp_live_listeners")


@dataclass
class Cast:
    """Who does what: tokens of bench users, and who of the subscribers follows each poster."""

    readers: list[str]
    posters: list[tuple[str, int]]  # (token, author id)
    subscribers: dict[int, str]  # user id -> token
    audience: dict[int, list[int]]  # author id -> the subscribers who follow them
    toggles: list[tuple[str, str]]  # (follower's token, followee's global id), followed when toggled on
    likeable: deque[str]  # global ids of recent tweets, the soak's own posts pushed in as they are made


async def cast_for(clients: Clients, subscriptions: int) -> tuple[Cast, dict[str, int]]:
    """The users of the run and the data set's size. A fixed seed, so that runs compare; thousands of
    users, so that none comes near its rate-limit budgets (a few actions each in ten minutes)."""
    users = await degrees(clients)
    if not users:
        raise SystemExit("no bench data: run ./scripts/bench.sh --generate-only first")
    rng = random.Random(17)
    ids = [user for user, _, _ in users]
    token = {user: issue_token(clients.settings, user) for user in ids}
    subscribers = rng.sample([user for user, following, _ in users if following >= 10], subscriptions)
    audience: dict[int, list[int]] = {}
    for viewer, author in await followed(clients, subscribers):
        audience.setdefault(author, []).append(viewer)
    for subscriber in subscribers:  # a subscriber's own posts would reach it too: they do not post
        audience.pop(subscriber, None)
    authors = rng.sample(sorted(audience), min(POSTERS, len(audience)))
    others = sorted(set(ids) - set(subscribers))
    readers = subscribers + rng.sample([user for user, following, _ in users if following], READERS)
    cast = Cast(
        readers=[token[user] for user in readers],
        posters=[(token[author], author) for author in authors],
        subscribers={user: token[user] for user in subscribers},
        audience={author: audience[author] for author in authors},
        toggles=await toggles(clients, rng.sample(others, FOLLOWERS), ids, rng, token),
        likeable=deque(await recent_tweets(clients), maxlen=500),
    )
    return cast, {"users": len(users), "follows": sum(following for _, following, _ in users)}


async def toggles(
    clients: Clients, followers: list[int], ids: list[int], rng: random.Random, token: dict[int, str]
) -> list[tuple[str, str]]:
    """One account for each follower to follow and unfollow in turn, among those it does not follow yet."""
    follows = set(await followed(clients, followers))
    pairs = []
    for follower in followers:
        followee = rng.choice(ids)
        while followee == follower or (follower, followee) in follows:
            followee = rng.choice(ids)
        pairs.append((token[follower], to_global_id("User", followee)))
    return pairs


async def recent_tweets(clients: Clients) -> list[str]:
    """The newest tweets, for the first likes (later ones go to the soak's own posts)."""
    records, _, _ = await clients.neo4j.execute_query("MATCH (t:Tweet) RETURN t.id AS id ORDER BY t.id DESC LIMIT 500")
    return [to_global_id("Tweet", record["id"]) for record in records]


class Load:
    """The open-loop driver: one request per 1/rate seconds, its kind drawn from MIX."""

    def __init__(self, client: httpx.AsyncClient, cast: Cast, record: Record) -> None:
        self.client, self.cast, self.record = client, cast, record
        self.rng = random.Random(23)
        self.toggle = 0
        self.slots = asyncio.Semaphore(CONNECTIONS)
        self.followed: set[int] = set()  # indices into Cast.toggles whose last turn followed
        self.actions: dict[str, Callable[[float], Coroutine[Any, Any, None]]] = {
            "read": self.read,
            "post": self.post,
            "like": self.like,
            "follow": self.follow,
        }

    async def run(self, rate: float, seconds: float) -> None:
        tasks: set[asyncio.Task[None]] = set()
        kinds, weights = list(MIX), list(MIX.values())
        for index in range(int(rate * seconds)):
            at = index / rate
            await asyncio.sleep(max(0.0, at - self.record.now()))
            task = asyncio.create_task(self.actions[self.rng.choices(kinds, weights)[0]](at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    async def send(
        self, kind: str, at: float, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Sends one request and records its outcome and latency (from its scheduled time); returns its data."""
        self.record.lateness.append((at, (self.record.now() - at) * 1000))
        outcome, data = await self.answer({"query": query, "variables": variables or {}}, token)
        self.record.requests.append((at, kind, (self.record.now() - at) * 1000, outcome))
        return data

    async def answer(self, body: dict[str, Any], token: str) -> tuple[str, dict[str, Any] | None]:
        """The request's outcome. It waits its turn for one of CONNECTIONS here, in order and cheaply
        (httpx's own pool rescans its queue on every release: with thousands waiting, that starves
        this process), but no more than QUEUE_SECONDS: a server that far behind is failing."""
        try:
            async with asyncio.timeout(QUEUE_SECONDS):
                await self.slots.acquire()
        except TimeoutError:
            return f"client:queued-{QUEUE_SECONDS:.0f}s", None
        try:
            response = await self.client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as error:  # timeouts included
            return f"transport:{type(error).__name__}", None
        finally:
            self.slots.release()
        return classify(response.status_code, response.content)

    async def read(self, at: float) -> None:
        await self.send("read", at, self.rng.choice(self.cast.readers), QUERY)

    async def post(self, at: float) -> None:
        token, author = self.rng.choice(self.cast.posters)
        text = f"soak {at:.2f} #soak{self.rng.randrange(TAGS)}"  # a few tags: the worker counts trends too
        data = await self.send("post", at, token, CREATE, {"input": {"text": text}})
        if data is not None:
            tweet = from_global_id(data["createTweet"]["id"], "Tweet")
            self.record.posts[tweet] = (self.record.now(), author)
            self.cast.likeable.append(data["createTweet"]["id"])

    async def like(self, at: float) -> None:
        tweet = self.rng.choice(self.cast.likeable)
        await self.send("like", at, self.rng.choice(self.cast.readers), LIKE, {"id": tweet})

    async def follow(self, at: float) -> None:
        """Follows, or unfollows if the last turn of this pair followed; the pairs taken in turn."""
        index = self.toggle % len(self.cast.toggles)
        self.toggle += 1
        token, followee = self.cast.toggles[index]
        if index in self.followed:
            self.followed.discard(index)
            await self.send("follow", at, token, UNFOLLOW, {"id": followee})
        else:
            self.followed.add(index)
            await self.send("follow", at, token, FOLLOW, {"id": followee})

    async def untoggle(self) -> None:
        """Unfollows what the last turns followed, uncounted: the graph ends as it began."""
        for index in sorted(self.followed):
            token, followee = self.cast.toggles[index]
            await self.client.post(
                "/graphql",
                json={"query": UNFOLLOW, "variables": {"id": followee}},
                headers={"Authorization": f"Bearer {token}"},
            )
        self.followed.clear()


async def listen(base_url: str, subscriber: int, token: str, record: Record) -> None:
    """One homeTimeline subscription until cancelled; how it ended, if it did, goes to the record."""
    try:
        async with subscription(base_url, token) as socket:
            async for raw in socket:
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                elif message.get("type") != "next":
                    record.subscription_events[str(message.get("type"))] += 1  # error or complete: it is over
                    return
                elif message["payload"].get("errors"):
                    codes = {str((e.get("extensions") or {}).get("code")) for e in message["payload"]["errors"]}
                    record.subscription_events["next-error:" + ",".join(sorted(codes))] += 1
                else:
                    arrived = record.now()
                    tweet = from_global_id(message["payload"]["data"]["homeTimeline"]["node"]["id"], "Tweet")
                    record.arrivals.setdefault((subscriber, tweet), arrived)
                    record.arrival_times.append(arrived)
            record.subscription_events["closed:normal"] += 1
    except ConnectionClosed as closed:
        record.subscription_events[f"closed:{closed.rcvd.code if closed.rcvd else 'abnormal'}"] += 1
    except (WebSocketException, OSError, TimeoutError, RuntimeError) as error:
        record.subscription_events[f"failed:{type(error).__name__}"] += 1


def usage(pid: int) -> tuple[int | None, float | None]:
    """(VmRSS in bytes, CPU seconds so far) of a process; None for what cannot be read (it exited)."""
    proc = Path(f"/proc/{pid}")
    try:
        rss = vm_rss_bytes((proc / "status").read_text())
        cpu = cpu_seconds((proc / "stat").read_text(), os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError):
        return None, None
    return rss, cpu


def machine_usage() -> float:
    """CPU seconds the whole machine spent busy so far, per core: its busy share comes out of it as a
    process's does, and tells whether a slow minute was this machine's (shared, 2 cores) doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    return machine_cpu_seconds(Path("/proc/stat").read_text(), ticks) / (os.cpu_count() or 1)


async def sample(client: httpx.AsyncClient, pids: dict[str, int], record: Record) -> Sample:
    """The processes' memory and CPU time, and the app's gauges now (all None when /metrics does not answer)."""
    at = record.now()
    used = {name: usage(pid) for name, pid in pids.items()} | {"machine": (None, machine_usage())}
    try:
        response = await client.get("/metrics/")
        metrics = gauges(response.text, GAUGES) if response.status_code == 200 else dict.fromkeys(GAUGES)
    except httpx.TransportError:
        metrics = dict.fromkeys(GAUGES)
    rss = {name: rss for name, (rss, _) in used.items() if name in pids}
    return Sample(at, rss, {name: cpu for name, (_, cpu) in used.items()}, metrics)


async def sampling(base_url: str, pids: dict[str, int], record: Record, stop: asyncio.Event) -> None:
    """A sample every SAMPLE_SECONDS until stopped, then one last; its own connection, apart from the load's."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        while not stop.is_set():
            record.samples.append(await sample(client, pids, record))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)
        record.samples.append(await sample(client, pids, record))


async def soak(base_url: str, cast: Cast, pids: dict[str, int], rate: float, seconds: float) -> Record:
    """Opens the subscriptions; once the API relays to all of them, loads for `seconds` while sampling,
    then waits GRACE_SECONDS for the last deliveries."""
    record = Record()
    listeners = [asyncio.create_task(listen(base_url, user, token, record)) for user, token in cast.subscribers.items()]
    stop = asyncio.Event()
    try:
        # Those that failed to open are in the record's subscription events: the load goes on without them.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(every_subscription_started(base_url, len(listeners)), 120)
        # Idle connections closed before uvicorn's 5 s keep-alive closes them: else a request sent on
        # one as the server closes it fails (ReadError), a race of the client's making.
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS, keepalive_expiry=2)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
            record.start, cpu = time.perf_counter(), time.process_time()
            sampler = asyncio.create_task(sampling(base_url, pids, record, stop))
            load = Load(client, cast, record)
            await load.run(rate, seconds)
            record.driver_cpu_seconds = time.process_time() - cpu
            stop.set()
            await sampler
            await asyncio.sleep(GRACE_SECONDS)
            await load.untoggle()
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    return record


async def run_soak(minutes: float, rate: float, subscriptions: int) -> None:
    """The whole soak: the cast, one API process and one worker (sharing a metrics folder, so the
    API's /metrics has the worker's gauges), the run, then the report."""
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    async with bench_clients() as clients:
        celebrities = await sync_celebrities(
            Fanout(settings=clients.settings, neo4j=clients.neo4j, redis=clients.redis, keys=clients.keys)
        )
        cast, data = await cast_for(clients, subscriptions)
        base_url = f"http://127.0.0.1:{API_PORT}"
        with tempfile.TemporaryDirectory(prefix="soak-metrics-") as metrics_dir:
            worker = process([sys.executable, "-m", "feeds.worker"], {"PROMETHEUS_MULTIPROC_DIR": metrics_dir})
            async with api("hybrid", PROMETHEUS_MULTIPROC_DIR=metrics_dir) as api_child, worker as worker_child:
                await warm(base_url, list(cast.subscribers.values()))
                await caught_up(clients)
                pids = {"api": api_child.pid, "worker": worker_child.pid}
                record = await soak(base_url, cast, pids, rate, minutes * 60)
                # The worker's share of the follows and unfollows undone: the next run starts from nothing.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(caught_up(clients), 120)
    settings = {"minutes": minutes, "rate": rate, "mix": MIX, "subscriptions": subscriptions}
    report = build_report(
        record, cast.audience, settings | {"started": started, "data": data, "celebrities_marked": celebrities}
    )
    stem = RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S')}"
    RESULTS.mkdir(exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    draw(report, stem.with_suffix(".png"))
    print_table(report)
    print(f"\nJSON: {stem.with_suffix('.json')}\nPNG:  {stem.with_suffix('.png')}")
