"""The one Redis client of a process."""

from redis.asyncio import Redis

from settings import Settings


def open_redis(settings: Settings) -> Redis:
    """Short socket timeouts: a dead Redis should fail a request fast, not hang it."""
    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password or None,
        db=settings.redis_db,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
    )


async def ping(redis: Redis) -> None:
    """Raises unless Redis answers PING."""
    await redis.ping()
