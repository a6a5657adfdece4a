"""A round trip through each real service."""

import hashlib
import io
import os

from minio import Minio
from neo4j import AsyncDriver
from redis.asyncio import Redis


async def test_neo4j_round_trip(neo4j: AsyncDriver, run_id: str) -> None:
    await neo4j.execute_query("CREATE (:RoundTrip {id: $id, text: 'héllo'})", id=run_id)
    try:
        records, _, _ = await neo4j.execute_query("MATCH (n:RoundTrip {id: $id}) RETURN n.text AS text", id=run_id)
        assert [record["text"] for record in records] == ["héllo"]
    finally:
        await neo4j.execute_query("MATCH (n:RoundTrip {id: $id}) DELETE n", id=run_id)


async def test_redis_round_trip(redis: Redis, run_id: str) -> None:
    key = f"test:{run_id}:round-trip"
    await redis.set(key, b"\x00bytes\xff", ex=60)
    try:
        assert await redis.get(key) == b"\x00bytes\xff"
    finally:
        await redis.delete(key)


def test_minio_round_trip(minio: Minio, run_id: str) -> None:
    bucket = f"chirp-test-{run_id}"
    payload = os.urandom(256 * 1024)
    minio.make_bucket(bucket)
    try:
        minio.put_object(bucket, "blob", io.BytesIO(payload), len(payload))
        response = minio.get_object(bucket, "blob")
        try:
            stored = response.read()
        finally:
            response.close()
            response.release_conn()
        assert stored == payload
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(payload).hexdigest()
    finally:
        minio.remove_object(bucket, "blob")
        minio.remove_bucket(bucket)
