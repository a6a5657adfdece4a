"""The CDN edge (nginx, scripts/nginx/cdn.conf.template) in front of the real MinIO: it serves
published media, caches them for good, and serves nothing else."""

import asyncio
import io
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from minio import Minio

import media.client

# The same defaults as scripts/env.sh.
EDGE = f"http://{os.environ.get('CDN_HOST', '127.0.0.1')}:{os.environ.get('CDN_PORT', '8080')}"


@pytest.fixture
def bucket(minio: Minio, run_id: str) -> Iterator[str]:
    """A bucket of the test's own, with the media bucket's policy (media/ public, incoming/ private)."""
    name = f"chirp-test-{run_id}"
    asyncio.run(media.client.ensure_bucket(minio, name, 1))
    try:
        yield name
    finally:
        for stored in minio.list_objects(name, recursive=True):
            minio.remove_object(name, stored.object_name)
        minio.remove_bucket(name)


@pytest.fixture
def edge() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=EDGE, timeout=10) as client:
        yield client


def put(minio: Minio, bucket: str, prefix: str) -> tuple[str, bytes]:
    """Stores random bytes under a fresh key; returns the key and the bytes."""
    key = f"{prefix}{uuid.uuid4().hex}.bin"
    payload = os.urandom(64 * 1024)
    minio.put_object(bucket, key, io.BytesIO(payload), len(payload))
    return key, payload


def test_published_object_is_fetched_once_then_served_from_the_cache(
    minio: Minio, bucket: str, edge: httpx.Client
) -> None:
    key, payload = put(minio, bucket, media.client.PUBLISHED)
    first = edge.get(f"/{bucket}/{key}")
    second = edge.get(f"/{bucket}/{key}")
    for response in (first, second):
        assert response.status_code == 200
        assert response.content == payload
        cache_control = response.headers["Cache-Control"]
        assert "public" in cache_control
        assert "max-age=31536000" in cache_control
        assert "immutable" in cache_control
        assert response.headers["Server"] == "nginx"
        assert not [name for name in response.headers if name.lower().startswith("x-amz-")]
    assert first.headers["X-Cache-Status"] == "MISS"
    assert second.headers["X-Cache-Status"] == "HIT"
    head = edge.head(f"/{bucket}/{key}")
    assert head.status_code == 200
    assert head.headers["X-Cache-Status"] == "HIT"
    assert int(head.headers["Content-Length"]) == len(payload)


def test_query_string_is_neither_sent_to_minio_nor_part_of_the_cache_key(
    minio: Minio, bucket: str, edge: httpx.Client
) -> None:
    key, payload = put(minio, bucket, media.client.PUBLISHED)
    # MinIO honours response-content-type even anonymously: it would answer text/html.
    first = edge.get(f"/{bucket}/{key}", params={"response-content-type": "text/html"})
    assert first.status_code == 200
    assert first.headers["X-Cache-Status"] == "MISS"
    assert first.headers["Content-Type"] != "text/html"
    assert first.content == payload
    plain = edge.get(f"/{bucket}/{key}")
    assert plain.headers["X-Cache-Status"] == "HIT"
    assert plain.content == payload


def test_client_credentials_never_reach_minio(minio: Minio, bucket: str, edge: httpx.Client) -> None:
    """The edge fetches anonymously, so nothing private can be cached and served to everyone:
    a bogus signature, which MinIO would refuse, does not matter."""
    key, payload = put(minio, bucket, media.client.PUBLISHED)
    bogus = "AWS4-HMAC-SHA256 Credential=bogus/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
    response = edge.get(f"/{bucket}/{key}", headers={"Authorization": bogus})
    assert response.status_code == 200
    assert response.headers["X-Cache-Status"] == "MISS"
    assert response.content == payload


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_writes_are_refused(minio: Minio, bucket: str, edge: httpx.Client, method: str) -> None:
    key, payload = put(minio, bucket, media.client.PUBLISHED)
    response = edge.request(method, f"/{bucket}/{key}", content=b"overwritten")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    stored = minio.get_object(bucket, key)
    try:
        assert stored.read() == payload
    finally:
        stored.close()
        stored.release_conn()
    new_key = f"{media.client.PUBLISHED}{uuid.uuid4().hex}.bin"
    assert edge.request(method, f"/{bucket}/{new_key}", content=b"new").status_code == 405
    assert not [stored.object_name for stored in minio.list_objects(bucket, prefix=new_key)]


def test_unchecked_uploads_are_not_served(minio: Minio, bucket: str, edge: httpx.Client) -> None:
    key, payload = put(minio, bucket, media.client.INCOMING)
    for _ in range(2):
        response = edge.get(f"/{bucket}/{key}")
        assert response.status_code in (403, 404)
        assert payload not in response.content
        assert "immutable" not in response.headers.get("Cache-Control", "")


def test_listings_and_minio_api_are_not_served(minio: Minio, bucket: str, edge: httpx.Client) -> None:
    key, _ = put(minio, bucket, media.client.PUBLISHED)
    for path in (f"/{bucket}/", f"/{bucket}", f"/{bucket}/?list-type=2", "/", "/minio/health/live"):
        response = edge.get(path)
        assert response.status_code != 200, path
        assert key not in response.text, path


def test_health_location_answers(edge: httpx.Client) -> None:
    response = edge.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"
