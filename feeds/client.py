"""The one Redis client of a process."""

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError, TimeoutError

from settings import Settings

# What Redis raises when it cannot be reached, or does not answer in time (or is still loading).
UNREACHABLE = (ConnectionError, TimeoutError)

MAX_CONNECTIONS = 256


def open_redis(settings: Settings) -> Redis:
    """Socket timeouts of the service timeout: a dead Redis should fail a request fast, not hang it.
    A burst that needs more connections than the pool holds waits for one (redis-py's default pool
    would fail the request instead)."""
    timeout = settings.service_timeout_seconds
    pool = BlockingConnectionPool(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password or None,
        db=settings.redis_db,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=30,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout,
    )
    return Redis(connection_pool=pool)


async def ping(redis: Redis) -> None:
    """Raises unless Redis answers PING."""
    await redis.ping()
