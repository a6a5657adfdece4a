"""Cached home timelines and celebrity tweet lists: packed id strings (see feeds/packed.py)."""

import struct
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import WatchError

from feeds.packed import (
    INSERT_SCRIPT,
    MERGE_SCRIPT,
    PLACEHOLDER_SLOTS,
    PLACEHOLDER_TTL_SECONDS,
    READ_SCRIPT,
    REMOVE_SCRIPT,
    Window,
    free_slots,
    pack,
    pack_id,
    unpack,
)


async def read_windows(
    redis: Redis, keys: Sequence[str], newest: Sequence[int | None] | None = None, touch_seconds: int | None = None
) -> list[Window | None]:
    """The windows at these keys (None where absent), in one round trip.

    newest[i], when not None, limits the i-th window to its newest entries (it then reads as
    truncated if it held more); touch_seconds renews the expiry of those present. A value of
    another layout (an older version's) reads as absent: the caller rebuilds it.
    """
    limits = [-1 if limit is None else limit for limit in (newest or [None] * len(keys))]
    script = redis.register_script(READ_SCRIPT)
    values: list[bytes | None] = await script(
        keys=list(keys), args=["" if touch_seconds is None else touch_seconds, *limits]
    )
    return [None if value is None else unpack(value) for value in values]


async def rebuild(
    redis: Redis, key: str, build: Callable[[], Awaitable[Window]], cap: int, ttl_seconds: int | None
) -> Window:
    """Builds an absent window (from Neo4j) and stores it, without losing a push that lands meanwhile.

    Pushes go only to windows that exist, so a plain build-then-SET would miss a tweet posted
    while Neo4j was read. A placeholder is set first: readers see it as holding nothing complete,
    pushes land in it, and the built entries are merged with what it took. If the key is dropped
    meanwhile, the built window answers this read only and the next read rebuilds.
    """
    placeholder = pack((), truncated=True, free=PLACEHOLDER_SLOTS)
    await redis.set(key, placeholder, nx=True, ex=PLACEHOLDER_TTL_SECONDS)
    window = await build()
    body = struct.pack(f">{len(window.ids)}Q", *reversed(window.ids))
    script = redis.register_script(MERGE_SCRIPT)
    ttl = "" if ttl_seconds is None else ttl_seconds
    stored: bytes | None = await script(keys=[key], args=[body, int(window.truncated), cap, ttl])
    return window if stored is None else unpack(stored)


async def insert(
    redis: Redis, keys: Sequence[str], entry_id: int, cap: int, channel_prefix: str = "", message: str = ""
) -> list[int]:
    """Adds the entry to each existing window at these keys, once, in order.

    With a channel prefix, each window that took it has the message published on the prefix
    followed by the key's trailing user id, from inside the same script (no round trip each).
    Returns the positions (in keys) of the windows that took it.
    """
    if not keys:
        return []
    script = redis.register_script(INSERT_SCRIPT)
    taken: list[int] = await script(keys=list(keys), args=[pack_id(entry_id), cap, channel_prefix, message])
    return taken


async def remove(redis: Redis, keys: Sequence[str], entry_ids: Sequence[int]) -> int:
    """Removes the entries from each existing window at these keys; returns how many went."""
    if not keys or not entry_ids:
        return 0
    script = redis.register_script(REMOVE_SCRIPT)
    removed: int = await script(keys=list(keys), args=[pack_id(entry_id) for entry_id in entry_ids])
    return removed


async def drop(redis: Redis, keys: Sequence[str]) -> None:
    """Drops cached values (timelines, lists, followed sets): the next read rebuilds them."""
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start : start + 1000])


async def replace_if_present(redis: Redis, key: str, build: Callable[[], Awaitable[Window]]) -> bool:
    """Rebuilds an existing (active) window; False when there was none to rebuild.

    The key is watched while `build` reads Neo4j: a push landing meanwhile makes the write
    fail, and the rebuild starts over, so no push is lost to it.
    """
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                if not await pipe.exists(key):
                    return False
                window = await build()
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, pack(window.ids, window.truncated, free=free_slots(len(window.ids))), keepttl=True)
                await pipe.execute()
                return True
            except WatchError:
                continue
