"""Faults answer cleanly: with Neo4j, Redis or MinIO unreachable (behind a closed gate, tests/gates.py),
each request that needs it gets SERVICE_UNAVAILABLE within the service timeout, those that do not
keep working, /readyz names what is missing, and once it is back everything recovers without a
restart. Then the same under a steady mixed load, each service in turn away for a while: every
request answered, and no acknowledged write missing afterwards."""

import asyncio
import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import graph.driver
from app import create_app
from settings import Budget, Settings
from tests.conftest import Account, Api, RedisProcess, drain, isolated_settings
from tests.gates import Gate, gate
from tests.processes import app_process, poll, start_worker, stop, wait_for_worker
from tests.test_media import small_png, upload

SERVICES = ("neo4j", "redis", "minio")
TIMEOUT = 2.0  # the service timeout the tests run with (the default)
# A request that needs a missing service is answered within the timeout, and a little more for the
# rest of its work; this bounds a hang, it does not measure speed.
ANSWERED_WITHIN = TIMEOUT + 1.0

HOME = "query { homeTimeline(first: 100) { edges { node { id } } } }"
HOME_PAGE = """
query($after: String) {
  homeTimeline(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}
"""
POST = "mutation($text: String!) { createTweet(input: {text: $text}) { id } }"
LIKE = "mutation($id: ID!) { like(tweetId: $id) { id } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
VIEWER = "query { viewer { handle followingCount } }"
FOLLOWERS = "query { viewer { followers(first: 5) { edges { node { handle } } } } }"
TWEET = "query($id: ID!) { tweet(id: $id) { id likeCount } }"
UPLOAD = "mutation($file: Upload!) { uploadMedia(file: $file) { id } }"


@dataclass
class Gates:
    neo4j: Gate
    redis: Gate
    minio: Gate

    def __getitem__(self, name: str) -> Gate:
        found: Gate = getattr(self, name)
        return found


@pytest.fixture
def gates(settings: Settings) -> Iterator[Gates]:
    with (
        gate(settings.neo4j_host, settings.neo4j_port) as neo4j,
        gate(settings.redis_host, settings.redis_port) as redis,
        gate(settings.minio_host, settings.minio_port) as minio,
    ):
        yield Gates(neo4j, redis, minio)


def behind(settings: Settings, gates: Gates, **overrides: Any) -> Settings:
    """The settings, reaching each service through its gate."""
    ports = {"neo4j_port": gates.neo4j.port, "redis_port": gates.redis.port, "minio_port": gates.minio.port}
    # Bolt, not the neo4j:// routing scheme: the server's routing table would route around the gate.
    direct = {"neo4j_scheme": "bolt", "service_timeout_seconds": TIMEOUT}
    return settings.model_copy(update=ports | direct | overrides)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def timed(
    api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> tuple[list[str], float]:
    """The request's error codes (none: it succeeded) and how long it took to be answered."""
    started = time.monotonic()
    body = api.execute(query, variables, token)
    return codes(body), time.monotonic() - started


@pytest.mark.parametrize("service", SERVICES)
def test_a_missing_service_fails_only_what_needs_it(service: str, settings: Settings, gates: Gates) -> None:
    with TestClient(create_app(behind(settings, gates))) as client:
        api = Api(client)
        author, reader = api.sign_up(), api.sign_up()
        api.follow(reader, author)
        api.tweet(author, "before the fault")
        drain(settings)
        assert not timed(api, HOME, token=reader.token)[0]

        gates[service].close()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["down"] == [service]
        if service == "neo4j":  # what the caches hold is still served; the rest waits for Neo4j
            assert not timed(api, VIEWER, token=author.token)[0]
            for query, variables in ((FOLLOWERS, None), (POST, {"text": "into the void"})):
                found, took = timed(api, query, variables, author.token)
                assert found == ["SERVICE_UNAVAILABLE"], query
                assert took < ANSWERED_WITHIN
        if service == "redis":  # reads go to Neo4j; writes commit, and the outbox relays them later
            assert not timed(api, HOME, token=reader.token)[0]
            assert not timed(api, VIEWER, token=reader.token)[0]
            assert not timed(api, POST, {"text": "while Redis is away"}, author.token)[0]
        if service == "minio":  # text tweets need no media storage; an upload does
            assert not timed(api, POST, {"text": "while MinIO is away"}, author.token)[0]
            started = time.monotonic()
            assert codes(upload(api, author, small_png(), "dot.png", "image/png")) == ["SERVICE_UNAVAILABLE"]
            assert time.monotonic() - started < ANSWERED_WITHIN

        gates[service].open()
        assert poll(lambda: client.get("/readyz").status_code, lambda status: status == 200, timeout=10) == 200
        assert not timed(api, POST, {"text": "after the fault"}, author.token)[0]
        assert codes(upload(api, author, small_png(), "dot.png", "image/png")) == []
        drain(settings)
        texts = [edge["node"]["id"] for edge in api.data(HOME, token=reader.token)["homeTimeline"]["edges"]]
        assert len(texts) == (3 if service != "neo4j" else 2)


def test_the_first_requests_after_a_redis_restart_find_it(
    settings: Settings, own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarts between two requests: the connections the app pooled are dead, and nothing
    tells until a command is sent on one. That command is sent again, once, on a new connection:
    no request is served as if Redis were down (each such fallback logs a warning)."""
    with TestClient(create_app(settings.model_copy(update={"redis_port": own_redis.port}))) as client:
        api = Api(client)
        author, reader = api.sign_up(), api.sign_up()
        api.follow(reader, author)
        api.tweet(author, "before the restart")
        api.data(HOME, token=reader.token)
        own_redis.stop()
        own_redis.start()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="chirp"):
            api.tweet(author, "after the restart")
            api.data(HOME, token=reader.token)
            api.sign_up()
        assert [record.getMessage() for record in caplog.records] == []


def whole_home(api: Api, account: Account) -> list[str]:
    """Every entry of the account's home timeline, paged to its end."""
    shown: list[str] = []
    after = None
    while True:
        page = api.data(HOME_PAGE, {"after": after}, account.token)["homeTimeline"]
        shown += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return shown
        after = page["pageInfo"]["endCursor"]


@dataclass
class Outcomes:
    """What a load run saw, and which writes it was told succeeded."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    succeeded: int = 0
    unavailable: list[float] = field(default_factory=list)  # how long each took to be answered
    wrong: list[str] = field(default_factory=list)
    posts: dict[str, int] = field(default_factory=dict)  # tweet id -> author index
    likes: set[tuple[int, str]] = field(default_factory=set)
    follows: set[tuple[int, int]] = field(default_factory=set)


def load(base_url: str, accounts: list[Account], seconds: float, rate: float, outcomes: Outcomes, seed: int) -> None:
    """One client's share of the load: mixed reads and writes (a few uploads) at `rate` requests a second."""
    picker = random.Random(seed)
    deadline = time.monotonic() + seconds
    image = small_png()
    with httpx.Client(base_url=base_url, timeout=30) as http:
        api = Api(http)  # type: ignore[arg-type]
        while (started := time.monotonic()) < deadline:
            index = picker.randrange(len(accounts))
            roll = picker.random()
            with outcomes.lock:
                known = list(outcomes.posts)
            files = None
            variables: dict[str, Any]
            if roll < 0.5:
                query, variables = HOME, {}
            elif roll < 0.7:
                query, variables = POST, {"text": f"load {picker.random():.9f}"}
            elif roll < 0.85 and known:
                query, variables = LIKE, {"id": picker.choice(known)}
            elif roll < 0.9:
                query, variables, files = UPLOAD, {"file": None}, {"variables.file": ("dot.png", image, "image/png")}
            else:
                other = picker.randrange(len(accounts))
                query, variables = (FOLLOW, {"id": accounts[other].id}) if other != index else (VIEWER, {})
            try:
                response = api.post(query, variables, accounts[index].token, files)
                body = response.json()
            except (httpx.HTTPError, ValueError) as error:
                with outcomes.lock:
                    outcomes.wrong.append(f"{query[:30]}: {error!r}")
                continue
            took = time.monotonic() - started
            found = codes(body)
            with outcomes.lock:
                if not found and response.status_code == 200:
                    outcomes.succeeded += 1
                    if query == POST:
                        outcomes.posts[body["data"]["createTweet"]["id"]] = index
                    elif query == LIKE:
                        outcomes.likes.add((index, variables["id"]))
                    elif query == FOLLOW:
                        outcomes.follows.add((index, index_of(accounts, variables["id"])))
                elif found == ["SERVICE_UNAVAILABLE"]:
                    outcomes.unavailable.append(took)
                else:
                    outcomes.wrong.append(f"{query[:30]}: {response.status_code} {body}")
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))


def index_of(accounts: list[Account], user_id: str) -> int:
    return next(index for index, account in enumerate(accounts) if account.id == user_id)


def test_faults_under_load_lose_no_acknowledged_write(tmp_path: Path) -> None:
    """About 50 requests a second for about a minute, while Neo4j, Redis and MinIO are each away
    for 12 s in turn; one API process and one worker, as deployed."""
    settings = isolated_settings(
        budget_viewer=Budget(1_000_000, 60),
        budget_tweets=Budget(1_000_000, 60),
        budget_likes=Budget(1_000_000, 60),
        budget_follows=Budget(1_000_000, 60),
        budget_uploads=Budget(1_000_000, 60),
    )
    outcomes = Outcomes()
    with ExitStack() as stack:
        gates = Gates(
            stack.enter_context(gate(settings.neo4j_host, settings.neo4j_port)),
            stack.enter_context(gate(settings.redis_host, settings.redis_port)),
            stack.enter_context(gate(settings.minio_host, settings.minio_port)),
        )
        through = behind(settings, gates)
        base_url = stack.enter_context(app_process(through, tmp_path / "app.log"))
        worker_log = tmp_path / "worker.log"
        fanout = start_worker(through, worker_log)
        stack.callback(stop, fanout)
        wait_for_worker(fanout, worker_log)
        with httpx.Client(base_url=base_url, timeout=30) as http:
            api = Api(http)  # type: ignore[arg-type]
            accounts = [api.sign_up() for _ in range(8)]
            for follower in accounts[:4]:
                for followee in accounts[4:]:
                    api.follow(follower, followee)
            for account in accounts:
                api.data(HOME, token=account.token)  # every timeline cached: all followers are active

        clients = [
            threading.Thread(target=load, args=(base_url, accounts, 60, 12.5, outcomes, seed)) for seed in range(4)
        ]
        for client in clients:
            client.start()
        for service in SERVICES:
            time.sleep(6)
            gates[service].close()
            time.sleep(12)
            gates[service].open()
        for client in clients:
            client.join()

        assert poll(lambda: httpx.get(f"{base_url}/readyz").status_code, lambda s: s == 200, timeout=15) == 200
        assert not outcomes.wrong, outcomes.wrong[:5]
        assert outcomes.unavailable, "no request met a missing service: the faults did not bite"
        p99 = sorted(outcomes.unavailable)[int(len(outcomes.unavailable) * 0.99)]
        print(  # the figures of the run, for the record (pytest -s shows them)
            f"faults under load: {outcomes.succeeded} succeeded, {len(outcomes.unavailable)} SERVICE_UNAVAILABLE "
            f"(p99 {p99:.2f} s), {len(outcomes.posts)} posts, {len(outcomes.likes)} likes, "
            f"{len(outcomes.follows)} follows acknowledged"
        )
        assert outcomes.succeeded > 500  # the load did run through the faults
        assert p99 < TIMEOUT, f"p99 of the unavailable answers: {p99:.2f} s"
        stop(fanout)
        drain(settings)  # whatever the worker left: it fails if anything is owed or pending afterwards

        with httpx.Client(base_url=base_url, timeout=30) as http:
            api = Api(http)  # type: ignore[arg-type]
            follows = {(f, e) for f in range(4) for e in range(4, 8)} | outcomes.follows
            for index, account in enumerate(accounts):
                shown = set(whole_home(api, account))
                owed = {
                    tweet for tweet, author in outcomes.posts.items() if author == index or (index, author) in follows
                }
                assert owed <= shown, f"user {index} misses {len(owed - shown)} acknowledged tweets"
            for tweet in outcomes.posts:
                assert api.data(TWEET, {"id": tweet})["tweet"] is not None
            likers: dict[str, int] = {}
            for _, tweet in outcomes.likes:
                likers[tweet] = likers.get(tweet, 0) + 1
            for tweet, count in likers.items():
                assert api.data(TWEET, {"id": tweet})["tweet"]["likeCount"] >= count


async def test_a_process_runs_at_most_its_share_of_neo4j_transactions_at_once() -> None:
    """NEO4J_MAX_CONNECTIONS caps the transactions a process has in Neo4j: one more waits for a
    connection (on 2 cores, a burst beyond the cores only spun) and runs once one is free."""
    driver = graph.driver.open_driver(isolated_settings(neo4j_max_connections=1))
    try:
        async with driver.session() as holding:
            held = await holding.begin_transaction()
            await held.run("RETURN 1")
            waiting = asyncio.create_task(driver.execute_query("RETURN 2 AS two"))
            await asyncio.sleep(0.5)
            assert not waiting.done(), "a second transaction ran beside the first"
            await held.rollback()
        records, _, _ = await asyncio.wait_for(waiting, 5)
        assert records[0]["two"] == 2
    finally:
        await driver.close()
