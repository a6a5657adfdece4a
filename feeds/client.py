"""The one Redis client of a process."""

from redis.asyncio import BlockingConnectionPool, Redis

from settings import Settings

MAX_CONNECTIONS = 256


def open_redis(settings: Settings) -> Redis:
    """Short socket timeouts: a dead Redis should fail a request fast, not hang it. A burst that
    needs more connections than the pool holds waits for one (redis-py's default pool would fail
    the request instead)."""
    pool = BlockingConnectionPool(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password or None,
        db=settings.redis_db,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
        max_connections=MAX_CONNECTIONS,
        timeout=5,
    )
    return Redis(connection_pool=pool)


async def ping(redis: Redis) -> None:
    """Raises unless Redis answers PING."""
    await redis.ping()
