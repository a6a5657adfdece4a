"""The discovery measurements of issue 13, in the order that keeps them honest: who-to-follow's
quality first (before anything fills a suggestion cache), then whoToFollow's latency, the worker's
throughput with trends on and off (which also leaves fresh trends to rank), the search and
trending reads, and search freshness under posting."""

import random
import time
from dataclasses import asdict
from typing import Any

import httpx

from bench.discovery import search_latencies, suggestion_latency
from bench.freshness import freshness
from bench.load import Latency
from bench.quality import SAMPLE, K, Recommend, who_to_follow_quality
from bench.trend_cost import trend_cost
from feeds import trends
from resolvers.auth import issue_token
from resolvers.clients import Clients
from resolvers.ids import from_global_id

FRESHNESS_RATE = 50.0  # posts a second
POSTERS = 20
HEAVY_FOLLOWING = 5000
AROUND_200 = range(150, 251)

Users = list[tuple[int, int, int]]  # (user, following, followers)


def over_http(client: httpx.AsyncClient, clients: Clients) -> Recommend:
    """A viewer's whoToFollow(first: K) over the API, as user ids."""

    async def recommend(viewer: int) -> list[int]:
        token = issue_token(clients.settings, viewer)
        response = await client.post(
            "/graphql",
            json={"query": f"{{ whoToFollow(first: {K}) {{ user {{ id }} }} }}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(f"whoToFollow failed for {viewer}: {body['errors']}")
        return [from_global_id(item["user"]["id"], "User") for item in body["data"]["whoToFollow"]]

    return recommend


async def forget_suggestions(clients: Clients, viewers: list[int]) -> None:
    """Drops these viewers' cached whoToFollow lists: the next request computes each afresh."""
    await clients.redis.delete(*(clients.keys.suggestions(viewer) for viewer in viewers))


async def forget_follows(clients: Clients, viewers: list[int]) -> None:
    """Drops these viewers' cached whoToFollow and follow lists: the quality phase hides and restores
    their follows straight in Neo4j, behind the app's back."""
    await forget_suggestions(clients, viewers)
    await clients.redis.delete(*(clients.keys.following(viewer) for viewer in viewers))


async def suggestion_latencies(
    clients: Clients, users: Users, base_url: str, tokens: list[str], seconds: float, rng: random.Random
) -> dict[str, Latency]:
    """whoToFollow cached (100 viewers, each one's list filled before any is timed), then uncached
    for viewers following about 200 and 5,000 or more."""
    latencies = {"wtf_cached": await suggestion_latency(base_url, tokens[:100], seconds)}
    for name, group in (
        ("wtf_uncached_following_200", [u for u, following, _ in users if following in AROUND_200]),
        ("wtf_uncached_following_5000", [u for u, following, _ in users if following >= HEAVY_FOLLOWING]),
    ):
        viewers = rng.sample(group, min(100, len(group)))

        async def forget(index: int, viewers: list[int] = viewers) -> None:
            await forget_suggestions(clients, [viewers[index % len(viewers)]])

        latencies[name] = await suggestion_latency(
            base_url, [issue_token(clients.settings, viewer) for viewer in viewers], seconds, forget
        )
    return latencies


async def discovery_phase(
    clients: Clients,
    users: Users,
    base_url: str,
    seconds: float,
    quality_users: int = SAMPLE,
    who_to_follow: bool = True,
) -> dict[str, Any]:
    """Runs against the API already listening at base_url (rate limits off: it posts at 50/s).
    Without who_to_follow, whoToFollow is left out (its quality and latency; the baselines stay):
    for when it is too slow to measure in a run's time."""
    settings = clients.settings
    rng = random.Random(17)
    report: dict[str, Any] = {}
    sampled = rng.sample([user for user, following, _ in users if following >= 1], 200)
    tokens = [issue_token(settings, user) for user in sampled]
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        started = time.perf_counter()
        quality = await who_to_follow_quality(
            clients.neo4j,
            users,
            over_http(client, clients) if who_to_follow else None,
            rng,
            lambda viewers: forget_follows(clients, viewers),
            quality_users,
        )
    report["quality"] = {name: asdict(value) for name, value in quality.items()}
    report["quality_seconds"] = time.perf_counter() - started
    print("who-to-follow quality:", report["quality"])
    latencies = await suggestion_latencies(clients, users, base_url, tokens, seconds, rng) if who_to_follow else {}
    report["trend_cost"] = asdict(await trend_cost(settings, clients.neo4j, clients.redis))
    print("worker with trends on / off:", report["trend_cost"])
    await trends.rank(
        clients.redis,
        clients.keys,
        int(time.time() * 1000),
        min_accounts=settings.trends_min_accounts,
        kept=settings.max_page_size,
    )
    latencies.update(await search_latencies(clients.neo4j, base_url, tokens, seconds))
    report["latency"] = {name: asdict(value) for name, value in latencies.items()}
    print("discovery latency:", report["latency"])
    posters = [issue_token(settings, user) for user in sampled[:POSTERS]]
    report["freshness"] = asdict(await freshness(base_url, posters, FRESHNESS_RATE, seconds))
    print("search freshness:", report["freshness"])
    return report


# p99 targets of issue 13, in milliseconds (None: measured for information).
LATENCY_TARGETS: dict[str, tuple[str, int | None]] = {
    "search_word": ("searchTweets, a word", 30),
    "search_common_word": ("searchTweets, a common word", None),
    "search_hashtag": ("searchTweets, a #hashtag", 20),
    "search_users": ("searchUsers typeahead", 10),
    "trending": ("trending(first: 10, windowMinutes: 60)", 5),
    "floor": ("{ __typename } (reads nothing)", None),
    "wtf_cached": ("whoToFollow, cached", 5),
    "wtf_uncached_following_200": ("whoToFollow, uncached, following ~200", 50),
    "wtf_uncached_following_5000": ("whoToFollow, uncached, following 5,000+", 50),
}


def discovery_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The phase's lines of the table: figure, then target."""
    quality = report["quality"]
    rows = [("[discovery]", "", "")]
    for name, values in quality.items():
        rows.append((f"  {name} recall@10 / NDCG@10", f"{values['recall']:.3f} / {values['ndcg']:.3f}", ""))
    if "who_to_follow" in quality:
        wtf, popular, fof = quality["who_to_follow"], quality["popularity"], quality["friends_of_friends"]
        active = quality["friends_of_friends_active"]
        rows += [
            ("  whoToFollow / popularity, NDCG@10", f"{wtf['ndcg'] / popular['ndcg']:.1f}x", ">= 2x"),
            ("  whoToFollow / friends-of-friends, NDCG@10", f"{wtf['ndcg'] / fof['ndcg']:.2f}x", "> 1x"),
            ("  whoToFollow / friends-of-friends (active), NDCG@10", f"{wtf['ndcg'] / active['ndcg']:.2f}x", "> 1x"),
        ]
    else:
        rows.append(("  whoToFollow (quality and latency)", "left out (--no-who-to-follow)", ""))
    for name, (label, target) in LATENCY_TARGETS.items():
        if name in report["latency"]:
            latency = report["latency"][name]
            rows.append(
                (
                    f"  {label} p50 / p99 at {latency['rate']:.1f}/s",
                    f"{latency['p50_ms']:.1f} / {latency['p99_ms']:.1f} ms ({latency['errors']} err)",
                    "" if target is None else f"p99 <= {target} ms",
                )
            )
    fresh, cost = report["freshness"], report["trend_cost"]
    rows += [
        (
            f"  search freshness p50 / p99 ({fresh['rate']:.0f} posts/s)",
            f"{fresh['p50_ms']:.0f} / {fresh['p99_ms']:.0f} ms",
            "p99 <= 1 s",
        ),
        ("    found / posted", f"{fresh['found']} / {fresh['posted']}", ""),
        (
            "  worker, trends on / off",
            f"{cost['on_events_per_second']:.0f} / {cost['off_events_per_second']:.0f} events/s",
            "",
        ),
        ("    on / off", f"{cost['on_over_off']:.0%}", ""),
    ]
    return rows
