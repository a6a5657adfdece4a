"""The packed timeline scripts against a real Redis: order, once, cap, truncation, removal."""

import random
import struct
from collections.abc import AsyncIterator
from typing import cast

import pytest
from redis.asyncio import Redis

from feeds import timeline
from feeds.packed import Window, free_slots, pack, unpack


@pytest.fixture
async def key(redis: Redis, run_id: str) -> AsyncIterator[str]:
    name = f"test:{run_id}:packed"
    yield name
    await redis.delete(name)


async def put(redis: Redis, key: str, stored: Window) -> None:
    """A cached window, as a rebuild leaves it (with free slots for pushes)."""
    await redis.set(key, pack(stored.ids, stored.truncated, free=free_slots(len(stored.ids))), ex=60)


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
    await put(redis, key, Window((), False))
    # Values around the 32-bit halves the script compares.
    ids = [2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**62, 2**63 - 1, 5, *random.sample(range(1, 2**63), 20)]
    for entry in ids + ids:
        await timeline.insert(redis, [key], entry, cap=100)
    assert await window(redis, key) == Window(tuple(sorted(set(ids), reverse=True)), False)
    assert await redis.ttl(key) > 0  # KEEPTTL: pushes do not make a timeline immortal


async def test_cap_truncates_and_older_entries_stay_out(redis: Redis, key: str) -> None:
    await put(redis, key, Window((), False))
    for entry in range(10, 20):
        await timeline.insert(redis, [key], entry, cap=4)
    assert await window(redis, key) == Window((19, 18, 17, 16), True)
    assert await timeline.insert(redis, [key], 3, cap=4) == []  # older than the window: Neo4j's part
    assert await timeline.insert(redis, [key], 25, cap=4) == [0]
    assert await window(redis, key) == Window((25, 19, 18, 17), True)


async def test_insert_reports_which_timelines_took_it(redis: Redis, key: str) -> None:
    other = key + ":other"
    await put(redis, key, Window((), False))
    await put(redis, other, Window((9,), False))
    try:
        assert await timeline.insert(redis, [key + ":absent", key, other], 9, cap=10) == [1]
    finally:
        await redis.delete(other)


async def test_remove_keeps_the_rest_and_the_truncation_mark(redis: Redis, key: str) -> None:
    await put(redis, key, Window((9, 7, 5, 3), True))
    assert await timeline.remove(redis, [key], [7, 3, 100]) == 2
    assert await window(redis, key) == Window((9, 5), True)
    assert await timeline.remove(redis, [key], [100]) == 0


async def test_memory_per_entry_is_under_ten_bytes(redis: Redis, key: str) -> None:
    entries = tuple(sorted(random.sample(range(1, 2**63), 800), reverse=True))
    await put(redis, key, Window(entries, True))
    used = await redis.memory_usage(key)
    assert used is not None
    assert used / len(entries) < 10  # 8 bytes of id, plus the key and the allocator's rounding


async def test_pushes_write_in_place_and_memory_stays_near_eight_bytes(redis: Redis, key: str) -> None:
    """Pushing into free slots never reallocates the string: no greedy doubling, as APPEND has."""
    await put(redis, key, Window((), False))
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
    await put(redis, taker, Window((), False))
    await put(redis, already, Window((5,), False))
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


async def test_a_push_during_a_rebuild_is_kept(redis: Redis, key: str) -> None:
    """Pushes go only to windows that exist: the rebuild's placeholder takes them meanwhile, and
    readers see it as holding nothing complete (so they ask Neo4j)."""

    async def build() -> Window:
        assert await timeline.read_windows(redis, [key]) == [Window((), True)]
        assert await timeline.insert(redis, [key], 30, cap=4) == [0]  # posted while Neo4j is read
        return Window((20, 10, 5, 3), truncated=True)  # what Neo4j answered, from before the post

    rebuilt = await timeline.rebuild(redis, key, build, cap=4, ttl_seconds=60)
    assert rebuilt == Window((30, 20, 10, 5), truncated=True)
    assert await window(redis, key) == rebuilt
    assert 0 < await redis.ttl(key) <= 60
    assert await timeline.insert(redis, [key], 40, cap=4) == [0]
    assert (await window(redis, key)).ids[:2] == (40, 30)


async def test_a_rebuild_merges_each_entry_once(redis: Redis, key: str) -> None:
    async def build() -> Window:
        await timeline.insert(redis, [key], 20, cap=10)  # the push and Neo4j both saw it
        return Window((20, 10), truncated=False)

    assert await timeline.rebuild(redis, key, build, cap=10, ttl_seconds=None) == Window((20, 10), False)
    assert await redis.ttl(key) == -1


async def test_a_window_dropped_during_its_rebuild_stays_absent(redis: Redis, key: str) -> None:
    async def build() -> Window:
        await timeline.drop(redis, [key])  # a threshold crossing drops it; pushes to it are lost
        return Window((20, 10), truncated=False)

    assert await timeline.rebuild(redis, key, build, cap=10, ttl_seconds=60) == Window((20, 10), False)
    assert await redis.exists(key) == 0
