"""Fill leases: a reader that missed a cached value takes one before reading Neo4j, whatever drops
the value drops the lease too, and the fill is stored only while its token still holds the lease
(checked inside the storing script). So a fill that read before a change cannot undo it."""

import secrets

from redis.asyncio import Redis

LEASE_SECONDS = 10  # longer than a fill's Neo4j read; a reader that dies blocks fills this long


def new_token() -> str:
    return secrets.token_hex(8)


async def take(redis: Redis, lease_key: str) -> str:
    """Takes the lease (from any earlier holder, whose fill is then not stored); returns its token."""
    token = new_token()
    await redis.set(lease_key, token, ex=LEASE_SECONDS)
    return token
