"""The one MinIO client of a process, and the media bucket it writes to.

The minio SDK is synchronous, so async callers run its calls in a worker thread.
"""

import asyncio
import json
from collections.abc import Callable
from typing import TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

from errors import ServiceUnavailable
from settings import Settings

T = TypeVar("T")
MISSING = ("NoSuchKey", "NoSuchObject")


def open_minio(settings: Settings) -> Minio:
    """Few, quick retries: a dead MinIO should fail a request fast, not hang it."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=settings.service_timeout_seconds, read=30.0),
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


# Checked media live under PUBLISHED, readable by anyone (the CDN edge fetches them without
# credentials); uploads by presigned URL land under INCOMING, private, until they are checked.
PUBLISHED = "media/"
INCOMING = "incoming/"


def public_read_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/{PUBLISHED}*"],
                }
            ],
        }
    )


def incoming_lifecycle(days: int) -> LifecycleConfig:
    """Uploads never completed are deleted by MinIO itself after `days`."""
    rule = Rule(
        ENABLED, rule_filter=Filter(prefix=INCOMING), rule_id="expire-incoming", expiration=Expiration(days=days)
    )
    return LifecycleConfig([rule])


async def call(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """fn(*args, **kwargs) in a worker thread. Failing to reach MinIO is ServiceUnavailable (the
    client may retry, and never sees a driver message); an S3 error about a missing object is
    raised as it is, for the caller to handle."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except (urllib3.exceptions.HTTPError, OSError, ServerError, InvalidResponseError) as error:
        raise ServiceUnavailable("media storage is unavailable; try again later") from error
    except S3Error as error:
        if error.code in MISSING:
            raise
        raise ServiceUnavailable("media storage is unavailable; try again later") from error


async def ensure_bucket(client: Minio, bucket: str, incoming_expiry_days: int) -> None:
    """Creates the bucket unless it exists (a MinIO from docker compose starts without it), and
    (again at every start, so a changed setting applies) its read policy and lifecycle."""
    if not await call(client.bucket_exists, bucket):
        try:
            await asyncio.to_thread(client.make_bucket, bucket)
        except S3Error as error:
            if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    await call(client.set_bucket_policy, bucket, public_read_policy(bucket))
    await call(client.set_bucket_lifecycle, bucket, incoming_lifecycle(incoming_expiry_days))


async def ping(client: Minio, bucket: str) -> None:
    """Raises unless MinIO answers and the media bucket is there."""
    if not await asyncio.to_thread(client.bucket_exists, bucket):
        raise LookupError(f"bucket {bucket} is missing")
