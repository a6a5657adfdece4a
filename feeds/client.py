"""The one Redis client of a process."""

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from settings import Settings

# What Redis raises when it cannot be reached, or does not answer in time (or is still loading).
UNAVAILABLE = (ConnectionError, TimeoutError)

MAX_CONNECTIONS = 256
POOL_WAIT_SECONDS = 5.0


def open_redis(settings: Settings) -> Redis:
    """Socket timeouts of the service timeout: a dead Redis should fail a request fast, not hang it.
    A burst that needs more connections than the pool holds waits for one, longer (that is load,
    not an outage; redis-py's default pool would fail the request instead).

    A command that finds its pooled connection closed (Redis restarted since it was last used,
    which the pool cannot see until it sends on it) is sent again at once, on a new connection.
    Once only, and never after a timeout: a command that timed out may have run, and a dead Redis
    should still fail fast."""
    timeout = settings.service_timeout_seconds
    pool = BlockingConnectionPool(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password or None,
        db=settings.redis_db,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
        max_connections=MAX_CONNECTIONS,
        timeout=max(POOL_WAIT_SECONDS, timeout),
    )
    return Redis(connection_pool=pool)


async def ping(redis: Redis) -> None:
    """Raises unless Redis answers PING."""
    await redis.ping()


async def persistence_problem(redis: Redis) -> str | None:
    """What in Redis's configuration could lose fan-out work on a restart or under memory
    pressure; None when nothing could (or it cannot be told: CONFIG is off on some managed Redis).

    An append-only file, or no persistence at all, is safe: a restart brings back a prefix of the
    history, or nothing, and the worker relays the outbox again from a stream it finds new. RDB
    snapshots alone are not: a restart brings back an old stream whose group still exists, and the
    events appended since the snapshot, already marked relayed in Neo4j, are gone. Nor is eviction:
    it may drop the stream itself.
    """
    try:
        config = (
            await redis.config_get("appendonly")
            | await redis.config_get("save")
            | await redis.config_get("maxmemory-policy")
        )
    except ResponseError:
        return None
    problems = []
    if config.get("appendonly") != "yes" and config.get("save"):
        problems.append("RDB snapshots without an append-only file (set appendonly yes)")
    if config.get("maxmemory-policy", "noeviction") != "noeviction":
        problems.append(f"maxmemory-policy {config['maxmemory-policy']} evicts keys (set noeviction)")
    return "; ".join(problems) or None
