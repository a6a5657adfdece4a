"""Fixtures for tests against the real Neo4j, Redis and MinIO (started by scripts/test.sh)."""

import asyncio
import json
import logging
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from minio import Minio
from neo4j import AsyncDriver
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.testclient import TestClient

import feeds.client
import graph.driver
import media.client
from app import create_app
from feeds import events, reset, worker
from feeds.fanout import Fanout
from feeds.keys import Keys
from graph import outbox
from settings import Budget, Settings
from tests.processes import free_port


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a missing test: any skip fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def isolated_settings(**overrides: Any) -> Settings:
    """The environment's settings, with a Redis key prefix of their own (stream, timelines, caches),
    cheap password hashing, and room for anonymous requests and sign-ups: tests sign up hundreds
    of users, all from one address (tests/test_rate_limits.py checks those budgets themselves)."""
    fields: dict[str, Any] = {
        "chirp_env": "development",
        "redis_prefix": f"test:{uuid.uuid4().hex[:12]}:",
        "password_time_cost": 1,
        "password_memory_kib": 8 * 1024,
        "budget_sign_ups": Budget(100_000, 60),
        "budget_anonymous": Budget(100_000, 60),
    }
    return Settings(**(fields | overrides))


# Internals that must never reach a client: driver and store names, stack traces, the query language,
# source files, exception classes.
LEAK_WORDS = re.compile(r"neo4j|redis|minio|traceback|cypher|site-packages|\w+\.py\b", re.IGNORECASE)
EXCEPTION_CLASS = re.compile(
    r"\b[A-Z]\w*(?:Error|Exception|Warning)\b|\b(?:KeyboardInterrupt|StopIteration|StopAsyncIteration|SystemExit)\b"
)


def leaks(text: str) -> list[str]:
    """What in the text names an internal."""
    return [found.group() for pattern in (LEAK_WORDS, EXCEPTION_CLASS) for found in pattern.finditer(text)]


@contextmanager
def settings_for_test(**overrides: Any) -> Iterator[Settings]:
    """Isolated settings (with these overrides) whose Redis keys are forgotten afterwards: the
    `settings` fixture's, and that of a module overriding it."""
    test_settings = isolated_settings(**overrides)
    try:
        yield test_settings
    finally:
        asyncio.run(forget_prefix(test_settings))


@pytest.fixture
def settings() -> Iterator[Settings]:
    with settings_for_test() as test_settings:
        yield test_settings


async def forget_prefix(settings: Settings) -> None:
    """Redis forgets every key of these settings (as scripts/restore.sh makes it do)."""
    redis = feeds.client.open_redis(settings)
    try:
        await reset.forget(redis, settings.redis_prefix)
    finally:
        await redis.aclose()


def drain(settings: Settings) -> int:
    """Runs a fan-out worker in this process until no event is left; returns how many it handled.
    Fails when the worker logged a failure, or left an event unread or pending, or an outbox entry owed."""

    async def run() -> int:
        neo4j = graph.driver.open_driver(settings)
        redis = feeds.client.open_redis(settings)
        keys = Keys(settings.redis_prefix)
        failures = FailureLog()
        worker.logger.addHandler(failures)
        try:
            ctx = Fanout(settings=settings, neo4j=neo4j, redis=redis, keys=keys)
            handled = await worker.drain(ctx, consumer="tests")
            assert not failures.messages, f"the worker failed: {failures.messages}"
            assert await events.backlog(redis, keys) == 0, "the worker left events unread or pending"
            owed, _ = await outbox.owed(neo4j, keys.events)
            assert owed == 0, f"the worker left {owed} outbox entries owed"
            return handled
        finally:
            worker.logger.removeHandler(failures)
            await redis.aclose()
            await neo4j.close()

    return asyncio.run(run())


class FailureLog(logging.Handler):
    """The messages of the failures logged while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def run_id() -> str:
    """A fresh suffix for names that must not collide with another test's."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
async def neo4j(settings: Settings) -> AsyncIterator[AsyncDriver]:
    driver = graph.driver.open_driver(settings)
    yield driver
    await driver.close()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = feeds.client.open_redis(settings)
    yield client
    await client.aclose()


@pytest.fixture
def minio(settings: Settings) -> Minio:
    return media.client.open_minio(settings)


class Api:
    """A GraphQL client over the app's HTTP endpoint, as a frontend would use it."""

    def __init__(self, client: TestClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}  # sent with every request (an X-Forwarded-For, say)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """The raw response (Starlette's TestClient, or an httpx client in tests of real processes).

        With files, keyed by where each goes ("variables.file": (name, bytes, content type)), a GraphQL
        multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec)."""
        headers = self.headers | ({"Authorization": f"Bearer {token}"} if token else {})
        operations = {"query": query, "variables": variables or {}}
        if not files:
            return self.client.post("/graphql", json=operations, headers=headers)
        file_map = {str(number): [path] for number, path in enumerate(files)}
        return self.client.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps(file_map)},
            files={str(number): part for number, part in enumerate(files.values())},
            headers=headers,
        )

    def execute(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        """The body of an answer: 200, or 429 for one that is nothing but rate-limited."""
        response = self.post(query, variables, token)
        body: dict[str, Any] = response.json()
        codes = {error["extensions"]["code"] for error in body.get("errors") or []}
        assert response.status_code == (
            429 if codes == {"RATE_LIMITED"} and not any((body.get("data") or {}).values()) else 200
        ), response.text
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        """The data of a request that must succeed."""
        body = self.execute(query, variables, token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def error_code(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> str:
        """The extensions.code of a request that must fail with exactly one error."""
        body = self.execute(query, variables, token)
        assert len(body.get("errors") or []) == 1, body
        code: str = body["errors"][0]["extensions"]["code"]
        return code

    def sign_up(self, handle: str | None = None) -> "Account":
        handle = handle or f"u{uuid.uuid4().hex[:12]}"
        data = self.data(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id handle } } }",
            {"input": {"handle": handle, "displayName": f"Name {handle}", "password": "correct horse"}},
        )
        payload = data["signUp"]
        return Account(id=payload["user"]["id"], handle=payload["user"]["handle"], token=payload["token"])

    def tweet(self, account: "Account", text: str, **extra: Any) -> str:
        data = self.data(
            "mutation($input: CreateTweetInput!) { createTweet(input: $input) { id } }",
            {"input": {"text": text, **extra}},
            account.token,
        )
        tweet_id: str = data["createTweet"]["id"]
        return tweet_id

    def follow(self, follower: "Account", followee: "Account") -> None:
        self.data("mutation($id: ID!) { follow(userId: $id) { id } }", {"id": followee.id}, follower.token)


@dataclass(frozen=True)
class Account:
    id: str
    handle: str
    token: str


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def api(app_client: TestClient) -> Api:
    return Api(app_client)


class RunCounter(logging.Handler):
    """Counts the queries sent to Neo4j: the driver logs every Bolt RUN message at DEBUG level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.runs = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "C: RUN" in record.getMessage():
            self.runs += 1


@pytest.fixture
def bolt_runs() -> Iterator[RunCounter]:
    counter = RunCounter()
    driver_logger = logging.getLogger("neo4j")
    previous = driver_logger.level
    driver_logger.setLevel(logging.DEBUG)
    driver_logger.addHandler(counter)
    yield counter
    driver_logger.removeHandler(counter)
    driver_logger.setLevel(previous)


class RedisProcess:
    """A real redis-server of the test's own, so stopping it disturbs no other test."""

    def __init__(self, port: int, directory: Path, durable: bool = False) -> None:
        self.port = port
        self.directory = directory
        self.durable = durable  # an append-only file fsynced every second, as scripts/redis.conf has it
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is installed by scripts/services.sh"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
            + (["yes", "--appendfsync", "everysec"] if self.durable else ["no"]),
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        # Until it answers PING: it accepts connections while it still loads its append-only file,
        # and answers LOADING to every command until then.
        client = SyncRedis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                try:
                    client.ping()
                    return
                except RedisConnectionError:  # refused, or BusyLoadingError
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisProcess]:
    """Without persistence, unless parametrized (indirectly) with durable=True."""
    redis = RedisProcess(free_port(), tmp_path, durable=getattr(request, "param", False))
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.stop()
