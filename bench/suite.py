"""The whole benchmark: data, then each measurement, then the report (a table and a JSON file)."""

import asyncio
import json
import os
import random
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench.caches import bytes_per_entry, cold_rebuild
from bench.discovery_phase import discovery_phase, discovery_rows
from bench.fanout import fanout_speed
from bench.floor import floor_rate
from bench.generate import ID_BASE, Shape, already_generated, generate, warm_store, wipe
from bench.load import QUERY, latency_at, max_throughput, register_persisted
from bench.visible import Visible, post_and_watch, published, subscribed
from feeds import events
from feeds.client import open_redis
from feeds.fanout import Fanout, sync_celebrities
from feeds.keys import Keys
from feeds.live import Relay
from graph.driver import open_driver
from graph.migrations import apply_migrations
from graph.snowflake import SnowflakeGenerator
from media.client import open_minio
from resolvers.auth import Passwords, issue_token
from resolvers.clients import Clients
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
API_PORT = int(os.environ.get("BENCH_API_PORT", "18080"))


@asynccontextmanager
async def process(
    args: list[str], env: dict[str, str], ready_url: str | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process for the length of a phase (uvicorn or the worker); the soak reads its memory by its pid."""
    child = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env={**os.environ, **env}, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        if ready_url is not None:
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    try:
                        if (await client.get(ready_url)).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
                else:
                    raise RuntimeError(f"{args} did not become ready")
        yield child
    finally:
        if child.returncode is None:
            child.terminate()
        await asyncio.wait_for(child.wait(), timeout=30)


def api(engine: str, port: int = API_PORT, **env: str) -> AbstractAsyncContextManager[asyncio.subprocess.Process]:
    command = [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"]
    return process(command, {"TIMELINE_ENGINE": engine, **env}, ready_url=f"http://127.0.0.1:{port}/readyz")


UNPROTECTED = {"QUERY_LIMITS": "false", "RATE_LIMITS": "false"}


SIDE_BY_SIDE_ROUNDS = 4  # even: each side as often on each port; after one round not counted (cold caches)


async def side_by_side(
    env: tuple[dict[str, str], dict[str, str]], persisted: tuple[bool, bool], tokens: list[str], seconds: float
) -> tuple[list[float], list[float]]:
    """Maximum throughput of two API processes loaded at the same time, each by its own wrk, so
    that whatever else the machine does weighs on both alike; the two swap ports each round."""
    runs: tuple[list[float], list[float]] = ([], [])
    ports = (API_PORT, API_PORT + 1)
    for round_ in range(-1, SIDE_BY_SIDE_ROUNDS):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        async with api("hybrid", ports[order[0]], **env[0]), api("hybrid", ports[order[1]], **env[1]):
            for side, port in zip((0, 1), (ports[order[0]], ports[order[1]]), strict=True):
                if persisted[side]:
                    await register_persisted(f"http://127.0.0.1:{port}", tokens[0])
            results = await asyncio.gather(
                *(
                    asyncio.to_thread(
                        max_throughput,
                        f"http://127.0.0.1:{ports[order[side]]}",
                        tokens,
                        seconds,
                        persisted=persisted[side],
                    )
                    for side in (0, 1)
                )
            )
        if round_ >= 0:
            for side in (0, 1):
                runs[side].append(results[side])
    return runs


async def protection_phase(tokens: list[str], seconds: float) -> dict[str, Any]:
    """The cost of the protection: hybrid's maximum throughput with the query limits and the rate
    limits on, beside the same with them off; and, protected, the page requested by its persisted
    query's hash over GET beside its text over POST."""
    on, off = await side_by_side(({}, UNPROTECTED), (False, False), tokens, seconds)
    persisted_get, text_post = await side_by_side(({}, {}), (True, False), tokens, seconds)
    runs = {"on": on, "off": off, "persisted_get": persisted_get, "text_post": text_post}
    means = {f"{name}_rps": sum(values) / len(values) for name, values in runs.items()}
    return {**means, "on_over_off": means["on_rps"] / means["off_rps"], "runs": runs}


async def degrees(clients: Clients) -> list[tuple[int, int, int]]:
    """(user, following, followers) for every generated user."""
    records, _, _ = await clients.neo4j.execute_query(
        """
        MATCH (u:User) WHERE u.id >= $base
        RETURN u.id AS id, COUNT { (u)-[:FOLLOWS]->() } AS following, COUNT { (u)<-[:FOLLOWS]-() } AS followers
        """,
        base=ID_BASE,
    )
    return [(record["id"], record["following"], record["followers"]) for record in records]


async def warm(base_url: str, tokens: list[str]) -> None:
    """One read per viewer: their timelines get built, as they would be by their first visit."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for token in tokens:
            response = await client.post(
                "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"}
            )
            assert "errors" not in response.json(), response.text


@asynccontextmanager
async def bench_clients() -> AsyncIterator[Clients]:
    """The bench's own connections to the services, as the app's Clients (the measurements reuse its helpers)."""
    settings = Settings()
    clients = Clients(
        settings=settings,
        neo4j=open_driver(settings),
        redis=open_redis(settings),
        minio=open_minio(settings),
        ids=SnowflakeGenerator(1000),
        passwords=Passwords(settings.password_time_cost, settings.password_memory_kib),
        keys=Keys(settings.redis_prefix),
        relay=Relay(open_redis(settings), settings.live_queue_size),  # never started: the bench reads only
    )
    try:
        yield clients
    finally:
        await clients.redis.aclose()
        await clients.neo4j.close()


async def run_suite(shape: Shape, seconds: float, generate_only: bool) -> None:
    report: dict[str, Any] = {"shape": asdict(shape), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    async with bench_clients() as clients:
        await apply_migrations(clients.neo4j)
        if not await already_generated(clients.neo4j, shape):
            # Older data, or of another shape: none of it is kept, in Neo4j or in Redis's caches of it.
            await wipe(clients.neo4j)
            await clients.redis.flushdb()
            password_hash = await clients.passwords.hash("bench")
            report["generate_seconds"] = await generate(clients.neo4j, shape, password_hash)
        if generate_only:
            return
        report["warm_seconds"] = await warm_store(clients.neo4j)
        await measure(clients, seconds, report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nJSON: {path}")


async def measure(clients: Clients, seconds: float, report: dict[str, Any]) -> None:
    settings = clients.settings
    fanout_ctx = Fanout(settings=settings, neo4j=clients.neo4j, redis=clients.redis, keys=clients.keys)
    report["celebrities_marked"] = await sync_celebrities(fanout_ctx)
    users = await degrees(clients)
    rng = random.Random(11)
    groups = {
        "sampled": rng.sample([user for user, following, _ in users if following >= 1], 200),
        "following>=200": rng.sample(
            [user for user, following, _ in users if following >= 200],
            min(200, sum(1 for _, following, _ in users if following >= 200)),
        ),
    }
    groups = {group: viewers for group, viewers in groups.items() if viewers}
    tokens = {group: [issue_token(settings, user) for user in viewers] for group, viewers in groups.items()}
    report["viewers"] = {
        group: {
            "count": len(viewers),
            "mean_following": sum(f for u, f, _ in users if u in set(viewers)) / len(viewers),
        }
        for group, viewers in groups.items()
    }
    base_url = f"http://127.0.0.1:{API_PORT}"
    report["http"] = {}
    for engine in ("hybrid", "pull"):
        async with api(engine):
            for group, group_tokens in tokens.items():
                if engine == "hybrid":
                    await warm(base_url, group_tokens)
                throughput = max_throughput(base_url, group_tokens, seconds)
                latency = await latency_at(base_url, group_tokens, throughput / 2, seconds)
                report["http"][f"{engine}/{group}"] = {"max_rps": throughput, **asdict(latency)}
                print(f"{engine}/{group}: {throughput:.0f} req/s; p50/p99 at half load", latency.p50_ms, latency.p99_ms)
    report["protection"] = await protection_phase(tokens["sampled"], seconds)
    print("protection:", report["protection"])
    report["floor"] = {
        group: await floor_rate(clients, group_tokens[:50], seconds) for group, group_tokens in tokens.items()
    }
    around_500 = sorted(users, key=lambda user: abs(user[1] - 500))[:30]
    rebuild = await cold_rebuild(
        clients.neo4j,
        [user for user, _, _ in around_500],
        sum(following for _, following, _ in around_500) / len(around_500),
        settings.timeline_cap,
    )
    report["cold_rebuild"] = asdict(rebuild)
    followers = rng.sample([user for user, _, _ in users], min(20_000, len(users)))
    report["fanout"] = asdict(await fanout_speed(settings, clients.neo4j, clients.redis, followers))
    visible, subscriber = await visible_phase(clients, users, groups["sampled"], seconds)
    report["visible"], report["subscriber"] = asdict(visible), asdict(subscriber)
    timelines, entries, per_entry = await bytes_per_entry(clients.redis, clients.keys)
    report["memory"] = {"timelines": timelines, "entries": entries, "bytes_per_entry": per_entry}
    async with api("hybrid", API_PORT, **UNPROTECTED):
        report["discovery"] = await discovery_phase(clients, users, base_url, seconds)


async def run_discovery(seconds: float, quality_users: int, who_to_follow: bool) -> None:
    """The discovery phases alone (`python -m bench discovery`), on the data set already generated."""
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    async with bench_clients() as clients:
        await apply_migrations(clients.neo4j)  # what the app now expects of older data (say, tweets' days)
        records, _, _ = await clients.neo4j.execute_query("MATCH (s:BenchShape) RETURN s {.*} AS shape")
        if not records:
            raise SystemExit("no bench data set of the current shape: run ./scripts/bench.sh --generate-only first")
        report["shape"] = records[0]["shape"]
        report["warm_seconds"] = await warm_store(clients.neo4j)
        async with api("hybrid", API_PORT, **UNPROTECTED):
            report["discovery"] = await discovery_phase(
                clients, await degrees(clients), f"http://127.0.0.1:{API_PORT}", seconds, quality_users, who_to_follow
            )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"discovery-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print_rows(discovery_rows(report["discovery"]))
    print(f"\nJSON: {path}")


async def followed(clients: Clients, viewers: list[int]) -> list[tuple[int, int]]:
    """(viewer, author) for every account each viewer follows."""
    records, _, _ = await clients.neo4j.execute_query(
        "UNWIND $viewers AS viewer MATCH (:User {id: viewer})-[:FOLLOWS]->(a:User) RETURN viewer, a.id AS author",
        viewers=viewers,
    )
    return [(record["viewer"], record["author"]) for record in records]


async def visible_phase(
    clients: Clients, users: list[tuple[int, int, int]], viewers: list[int], seconds: float
) -> tuple[Visible, Visible]:
    """50 posts a second by authors below the threshold, each watched at one follower with a cached
    timeline: as the worker publishes it (visible), then on the follower's homeTimeline subscription."""
    followers_of = {user: followers for user, _, followers in users}
    pairs: dict[int, int] = {}
    for viewer, author in await followed(clients, viewers):
        if followers_of.get(author, 0) < clients.settings.celebrity_threshold:
            pairs.setdefault(author, viewer)
    chosen = random.Random(5).sample(sorted(pairs.items()), min(200, len(pairs)))
    watched = [(issue_token(clients.settings, author), author, viewer) for author, viewer in chosen]
    worker = process([sys.executable, "-m", "feeds.worker"], {})
    base_url = f"http://127.0.0.1:{API_PORT}"
    redis_watch = published(clients.redis, clients.keys, [viewer for _, viewer in chosen])
    socket_watch = subscribed(base_url, {viewer: issue_token(clients.settings, viewer) for _, viewer in chosen})
    async with api("hybrid"), worker:
        await warm(base_url, [issue_token(clients.settings, viewer) for _, viewer in chosen])
        await caught_up(clients)
        # A first round, not counted, waits out the worker's start-up (it reconciles celebrities).
        await post_and_watch(base_url, watched, 50, 2, redis_watch)
        return (
            await post_and_watch(base_url, watched, 50, seconds, redis_watch),
            await post_and_watch(base_url, watched, 50, seconds, socket_watch),
        )


async def caught_up(clients: Clients) -> None:
    """Waits until the worker has no event left (a run cut short leaves some in the stream): the
    latency measured is that of a worker keeping up, not of one working off a backlog."""
    while True:
        if not await events.backlog(clients.redis, clients.keys):
            return
        await asyncio.sleep(0.5)


def print_report(report: dict[str, Any]) -> None:
    http = report["http"]
    rows = [("measure", "value", "target")]
    if "generate_seconds" in report:
        rows.append(("data generation", f"{report['generate_seconds']:.0f} s", "-"))
    for group in report["viewers"]:
        hybrid, pull, floor = http[f"hybrid/{group}"], http[f"pull/{group}"], report["floor"][group]
        mean_following = report["viewers"][group]["mean_following"]
        rows += [
            (f"[{group}, mean following {mean_following:.0f}]", "", ""),
            ("  hybrid max throughput", f"{hybrid['max_rps']:.0f} req/s", ""),
            ("  pull-only max throughput", f"{pull['max_rps']:.0f} req/s", ""),
            ("  hybrid / pull-only", f"{hybrid['max_rps'] / pull['max_rps']:.1f}x", ">= 5x (following>=200)"),
            ("  floor (in-process, no I/O)", f"{floor:.0f} req/s", ""),
            ("  floor / pull-only (no engine can beat it)", f"{floor / pull['max_rps']:.1f}x", ""),
            ("  hybrid / floor", f"{hybrid['max_rps'] / floor:.0%}", ">= 60%"),
            ("  hybrid p50 / p99 at half load", f"{hybrid['p50_ms']:.1f} / {hybrid['p99_ms']:.1f} ms", "p99 <= 20 ms"),
            ("  pull-only p50 / p99 at half load", f"{pull['p50_ms']:.1f} / {pull['p99_ms']:.1f} ms", ""),
        ]
    protection = report["protection"]
    rows += [
        ("[sampled viewers, hybrid]", "", ""),
        (
            "  max throughput, limits on / off",
            f"{protection['on_rps']:.0f} / {protection['off_rps']:.0f} req/s",
            "",
        ),
        ("  on / off (the cost of the protection)", f"{protection['on_over_off']:.1%}", ">= 95%"),
        (
            "  persisted hash by GET / full text by POST",
            f"{protection['persisted_get_rps']:.0f} / {protection['text_post_rps']:.0f} req/s",
            "",
        ),
    ]
    fanout, visible, subscriber = report["fanout"], report["visible"], report["subscriber"]
    rebuild, memory = report["cold_rebuild"], report["memory"]
    rows += [
        ("fan-out, one worker", f"{fanout['deliveries_per_second']:.0f} deliveries/s", ">= 100,000/s"),
        ("one tweet to 20,000 followers", f"{fanout['seconds_p50'] * 1000:.0f} ms", ""),
        (
            "post-to-visible p50 / p99 (50 posts/s)",
            f"{visible['p50_ms']:.0f} / {visible['p99_ms']:.0f} ms",
            "p99 < 1 s",
        ),
        ("  seen / posted", f"{visible['seen']} / {visible['posted']}", ""),
        (
            "post-to-subscriber p50 / p99 (50 posts/s)",
            f"{subscriber['p50_ms']:.0f} / {subscriber['p99_ms']:.0f} ms",
            "p99 < 500 ms",
        ),
        ("  seen / posted", f"{subscriber['seen']} / {subscriber['posted']}", ""),
        (
            f"cold rebuild, mean following {rebuild['following']:.0f} (p50 / p99)",
            f"{rebuild['p50_ms']:.0f} / {rebuild['p99_ms']:.0f} ms",
            "<= 50 ms",
        ),
        ("Redis memory per timeline entry", f"{memory['bytes_per_entry']:.1f} B", "<= 16 B"),
        ("  over timelines / entries", f"{memory['timelines']} / {memory['entries']}", ""),
    ]
    print_rows(rows + discovery_rows(report["discovery"]))


def print_rows(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(row[0]) for row in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>24}  {target}")
