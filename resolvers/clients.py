"""The process-wide clients every request shares."""

from collections.abc import Mapping
from dataclasses import dataclass

from minio import Minio
from neo4j import AsyncDriver
from redis.asyncio import Redis

from feeds.keys import Keys
from feeds.live import Relay
from graph.snowflake import SnowflakeGenerator
from resolvers.auth import Passwords
from settings import Settings


@dataclass(frozen=True)
class Clients:
    """Opened once per process by the app's lifespan and shared by every request."""

    settings: Settings
    neo4j: AsyncDriver
    redis: Redis
    minio: Minio
    ids: SnowflakeGenerator
    passwords: Passwords
    keys: Keys
    relay: Relay  # started by the app's lifespan; relays live updates to this process's subscribers
    # With TRUSTED_DOCUMENTS: the only documents that run, by id and by SHA-256 (schema/persisted.py).
    trusted_documents: Mapping[str, str] | None = None
