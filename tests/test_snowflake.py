"""Snowflake ids: unique, increasing, and carrying their creation time."""

import time

import pytest

from graph.snowflake import SnowflakeGenerator, timestamp_ms


def test_ids_increase_and_are_unique_across_many_in_one_millisecond() -> None:
    generator = SnowflakeGenerator(worker_id=7)
    ids = [generator.next_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(0 < i < 2**63 for i in ids)


def test_workers_never_collide() -> None:
    a, b = SnowflakeGenerator(worker_id=1), SnowflakeGenerator(worker_id=2)
    assert not {a.next_id() for _ in range(5000)} & {b.next_id() for _ in range(5000)}


def test_id_carries_its_creation_time() -> None:
    before = int(time.time() * 1000)
    snowflake = SnowflakeGenerator(worker_id=0).next_id()
    after = int(time.time() * 1000)
    assert before <= timestamp_ms(snowflake) <= after


def test_worker_id_is_bounded() -> None:
    with pytest.raises(ValueError, match="worker id"):
        SnowflakeGenerator(worker_id=1024)
