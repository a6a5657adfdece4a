"""The one MinIO client of a process, and the media bucket it writes to.

The minio SDK is synchronous, so async callers run its calls in a worker thread.
"""

import asyncio

import urllib3
from minio import Minio
from minio.error import S3Error

from settings import Settings


def open_minio(settings: Settings) -> Minio:
    """Few, quick retries: a dead MinIO should fail a request fast, not hang it."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=2.0, read=30.0),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        maxsize=16,
    )
    return Minio(
        settings.minio_endpoint,
        access_key=settings.minio_root_user,
        secret_key=settings.minio_root_password,
        secure=settings.minio_secure,
        http_client=http,
    )


async def ensure_bucket(client: Minio, bucket: str) -> None:
    """Creates the bucket unless it exists (a MinIO from docker compose starts without it)."""
    if await asyncio.to_thread(client.bucket_exists, bucket):
        return
    try:
        await asyncio.to_thread(client.make_bucket, bucket)
    except S3Error as error:
        if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


async def ping(client: Minio, bucket: str) -> None:
    """Raises unless MinIO answers and the media bucket is there."""
    if not await asyncio.to_thread(client.bucket_exists, bucket):
        raise LookupError(f"bucket {bucket} is missing")
