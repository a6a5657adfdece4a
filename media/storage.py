"""The media bucket's objects: content-addressed puts, presigned upload forms, reads and deletes."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, TypeVar, cast

from minio import Minio
from minio.datatypes import PostPolicy
from minio.error import S3Error

from media.client import call

T = TypeVar("T")

# Objects never change (their key is the SHA-256 of their bytes), so every cache may keep them.
IMMUTABLE = "public, max-age=31536000, immutable"


async def size_of(client: Minio, bucket: str, key: str) -> int | None:
    """The object's size; None when there is no such object."""
    try:
        found = await call(client.stat_object, bucket, key)
    except S3Error:
        return None
    return int(found.size or 0)


async def put_if_absent(client: Minio, bucket: str, key: str, data: BinaryIO, length: int, content_type: str) -> None:
    """Stores the bytes under their content address, unless they are there already: an identical
    upload is stored once."""
    if await size_of(client, bucket, key) is not None:
        return
    await call(
        client.put_object, bucket, key, data, length, content_type=content_type, metadata={"Cache-Control": IMMUTABLE}
    )


@dataclass(frozen=True)
class UploadForm:
    """Where and how a browser or app POSTs one file straight to MinIO: a multipart form with
    these fields, then the file last, as the field "file"."""

    url: str
    fields: dict[str, str]


async def presigned_post(
    client: Minio, bucket: str, bucket_url: str, key: str, expires_at: datetime, max_bytes: int
) -> UploadForm:
    """A signed POST policy for exactly this key and at most max_bytes: MinIO itself refuses a
    larger file, so nothing bigger is ever stored."""
    policy = PostPolicy(bucket, expires_at)
    policy.add_equals_condition("key", key)
    policy.add_content_length_range_condition(1, max_bytes)
    fields = await call(client.presigned_post_policy, policy)
    return UploadForm(url=bucket_url, fields={"key": key, **fields})


def _read_object(client: Minio, bucket: str, key: str, consume: Callable[[BinaryIO], T]) -> T:
    response = client.get_object(bucket, key)
    try:
        return consume(cast(BinaryIO, response))
    finally:
        response.close()
        response.release_conn()


async def read_object(client: Minio, bucket: str, key: str, consume: Callable[[BinaryIO], T]) -> T:
    """consume(stream of the object's bytes), run in a worker thread: the object is streamed,
    never read whole into memory."""
    return await call(_read_object, client, bucket, key, consume)


async def remove(client: Minio, bucket: str, key: str) -> None:
    await call(client.remove_object, bucket, key)
