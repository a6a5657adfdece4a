"""The packed timeline scripts against a real Redis: order, once, cap, truncation, removal."""

import random
import struct
from collections.abc import AsyncIterator
from typing import cast

import pytest
from redis.asyncio import Redis

from feeds import timeline
from feeds.packed import Window, pack, unpack


@pytest.fixture
async def key(redis: Redis, run_id: str) -> AsyncIterator[str]:
    name = f"test:{run_id}:packed"
    yield name
    await redis.delete(name)


async def window(redis: Redis, key: str) -> Window:
    value = await redis.get(key)
    assert value is not None
    return unpack(cast(bytes, value))


def test_pack_round_trip() -> None:
    ids = (2**63 - 1, 2**40, 7)
    assert unpack(pack(ids, truncated=False)) == Window(ids, False)
    assert unpack(pack(ids, truncated=True)) == Window(ids, True)
    assert unpack(pack((), truncated=True)) == Window((), True)
    assert unpack(pack(ids, truncated=False, free=3)) == Window(ids, False)
    assert len(pack(ids, truncated=False, free=3)) == 16 + 8 * (len(ids) + 3)
    assert unpack(b"") == Window((), False)


async def test_absent_timeline_is_left_alone(redis: Redis, key: str) -> None:
    assert await timeline.insert(redis, [key], 42, cap=10) == []
    assert await redis.exists(key) == 0


async def test_inserts_keep_order_and_happen_once(redis: Redis, key: str) -> None:
    await timeline.store_window(redis, key, Window((), False), ttl_seconds=60)
    # Values around the 32-bit halves the script compares.
    ids = [2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**62, 2**63 - 1, 5, *random.sample(range(1, 2**63), 20)]
    for entry in ids + ids:
        await timeline.insert(redis, [key], entry, cap=100)
    assert await window(redis, key) == Window(tuple(sorted(set(ids), reverse=True)), False)
    assert await redis.ttl(key) > 0  # KEEPTTL: pushes do not make a timeline immortal


async def test_cap_truncates_and_older_entries_stay_out(redis: Redis, key: str) -> None:
    await timeline.store_window(redis, key, Window((), False), ttl_seconds=60)
    for entry in range(10, 20):
        await timeline.insert(redis, [key], entry, cap=4)
    assert await window(redis, key) == Window((19, 18, 17, 16), True)
    assert await timeline.insert(redis, [key], 3, cap=4) == []  # older than the window: Neo4j's part
    assert await timeline.insert(redis, [key], 25, cap=4) == [0]
    assert await window(redis, key) == Window((25, 19, 18, 17), True)


async def test_insert_reports_which_timelines_took_it(redis: Redis, key: str) -> None:
    other = key + ":other"
    await timeline.store_window(redis, key, Window((), False), ttl_seconds=60)
    await timeline.store_window(redis, other, Window((9,), False), ttl_seconds=60)
    try:
        assert await timeline.insert(redis, [key + ":absent", key, other], 9, cap=10) == [1]
    finally:
        await redis.delete(other)


async def test_remove_keeps_the_rest_and_the_truncation_mark(redis: Redis, key: str) -> None:
    await timeline.store_window(redis, key, Window((9, 7, 5, 3), True), ttl_seconds=60)
    assert await timeline.remove(redis, [key], [7, 3, 100]) == 2
    assert await window(redis, key) == Window((9, 5), True)
    assert await timeline.remove(redis, [key], [100]) == 0


async def test_memory_per_entry_is_under_ten_bytes(redis: Redis, key: str) -> None:
    entries = tuple(sorted(random.sample(range(1, 2**63), 800), reverse=True))
    await timeline.store_window(redis, key, Window(entries, True), ttl_seconds=60)
    used = await redis.memory_usage(key)
    assert used is not None
    assert used / len(entries) < 10  # 8 bytes of id, plus the key and the allocator's rounding


async def test_pushes_write_in_place_and_memory_stays_near_eight_bytes(redis: Redis, key: str) -> None:
    """Pushing into free slots never reallocates the string: no greedy doubling, as APPEND has."""
    await timeline.store_window(redis, key, Window((), False), ttl_seconds=60)
    for entry in range(1, 801):
        await timeline.insert(redis, [key], entry * 1000, cap=800)
    assert await window(redis, key) == Window(tuple(entry * 1000 for entry in range(800, 0, -1)), False)
    assert await redis.strlen(key) <= 16 + 8 * 850  # 800 entries and at most a sixteenth more free
    used = await redis.memory_usage(key)
    assert used is not None
    assert used / 800 < 11
    for entry in range(801, 851):  # a full window takes a sixteenth more before it is cut back
        await timeline.insert(redis, [key], entry * 1000, cap=800)
    assert await window(redis, key) == Window(tuple(entry * 1000 for entry in range(850, 0, -1)), False)
    await timeline.insert(redis, [key], 851_000, cap=800)
    assert await window(redis, key) == Window(tuple(entry * 1000 for entry in range(851, 51, -1)), True)


async def test_an_empty_string_counts_as_an_empty_window(redis: Redis, key: str) -> None:
    await redis.set(key, b"", ex=60)
    assert await timeline.insert(redis, [key], 7, cap=10) == [0]
    assert await timeline.insert(redis, [key], 9, cap=10) == [0]
    assert await window(redis, key) == Window((9, 7), False)


async def test_insert_publishes_to_each_timeline_that_took_it(redis: Redis, key: str) -> None:
    taker, already = f"{key}:timeline:101", f"{key}:timeline:102"
    await timeline.store_window(redis, taker, Window((), False), ttl_seconds=60)
    await timeline.store_window(redis, already, Window((5,), False), ttl_seconds=60)
    pubsub = redis.pubsub()
    await pubsub.psubscribe(f"{key}:live:*")
    try:
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        taken = await timeline.insert(
            redis, [taker, already, f"{key}:timeline:103"], 5, cap=10, channel_prefix=f"{key}:live:", message="hi"
        )
        assert taken == [0]
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None
        assert (message["channel"], message["data"]) == (f"{key}:live:101".encode(), b"hi")
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.delete(taker, already)


@pytest.mark.parametrize(
    "value",
    [
        struct.pack(">3Q", 5, 7, 9),  # the header-less layout of an older version
        pack((9, 7, 5), truncated=False)[:-8],  # cut short
        b"short",
    ],
)
async def test_a_window_of_another_layout_reads_as_absent(redis: Redis, key: str, value: bytes) -> None:
    await redis.set(key, value, ex=60)
    assert await timeline.read_windows(redis, [key]) == [None]


async def test_a_read_of_the_newest_entries_moves_only_those(redis: Redis, key: str) -> None:
    """A limited read is a window of the newest entries, truncated when it left older ones out."""
    empty, missing = f"{key}:empty", f"{key}:missing"
    await redis.set(key, pack((9, 7, 5, 3), truncated=False, free=2), ex=60)
    await redis.set(empty, b"", ex=60)
    try:
        read = await timeline.read_windows(redis, [key, key, key, empty, missing], newest=[2, 4, None, 3, 3])
        assert read == [
            Window(ids=(9, 7), truncated=True),
            Window(ids=(9, 7, 5, 3), truncated=False),
            Window(ids=(9, 7, 5, 3), truncated=False),
            Window(ids=(), truncated=False),
            None,
        ]
        await redis.set(key, pack((9, 7), truncated=True, free=1), ex=60)
        assert await timeline.read_windows(redis, [key], newest=[5]) == [Window(ids=(9, 7), truncated=True)]
    finally:
        await redis.delete(empty)


async def test_a_read_renews_the_expiry_of_present_windows_only(redis: Redis, key: str) -> None:
    missing = f"{key}:missing"
    await redis.set(key, pack((9,), truncated=False, free=1), ex=60)
    await timeline.read_windows(redis, [key, missing], touch_seconds=5000)
    assert 4000 < await redis.ttl(key) <= 5000
    assert await redis.exists(missing) == 0
