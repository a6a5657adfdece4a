"""Fixtures for tests against the real Neo4j, Redis and MinIO (started by scripts/test.sh)."""

import uuid
from collections.abc import AsyncIterator

import pytest
from minio import Minio
from neo4j import AsyncDriver
from redis.asyncio import Redis

import feeds.client
import graph.driver
import media.client
from settings import Settings


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a missing test: any skip fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


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
