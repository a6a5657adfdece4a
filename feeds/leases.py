"""Fill leases, the one protocol every cache filled from Neo4j uses (records, viewer acts, followed
celebrities): a reader that missed a cached value takes the lease before reading Neo4j, whatever
drops the value drops the lease too, and the fill is stored only while its token still holds the
lease (checked inside the storing script). So a fill that read before a change cannot undo it.

A lease already held stays its holder's: of many readers that miss a hot value at once, the first
fills it (were each to take it over, a steady stream of readers could keep it from ever being
stored). A reader that dies holding one leaves its value uncached for the lease's length.

Turns, below, are not leases: nothing is filled under them.
"""

import secrets
from collections.abc import Sequence

from redis.asyncio import Redis

LEASE_SECONDS = 10  # longer than a fill's Neo4j read


async def take(redis: Redis, lease_keys: Sequence[str], seconds: int = LEASE_SECONDS) -> str:
    """Takes each of these leases that no other reader holds; returns the token a fill stores under."""
    token = secrets.token_hex(8)
    async with redis.pipeline(transaction=False) as pipe:
        for key in lease_keys:
            pipe.set(key, token, ex=seconds, nx=True)
        await pipe.execute()
    return token


async def take_turn(redis: Redis, key: str, milliseconds: int) -> bool:
    """Whether the caller's turn has come: no process took this key within the last `milliseconds`
    (one of many workers runs a periodic task each period)."""
    return bool(await redis.set(key, 1, nx=True, px=milliseconds))
