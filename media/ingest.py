"""From uploaded bytes to stored media: spool to disk, sniff, check, clean, store.

Nothing is written to MinIO before every check has passed, so a refused file leaves nothing
behind. Uploads are spooled to a temporary file, never held whole in memory (videos run to
hundreds of megabytes); cleaned images and thumbnails, a few megabytes at most, are.
"""

import asyncio
import hashlib
import io
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from minio import Minio

from errors import BadInput, NotFound
from media import storage
from media.client import INCOMING, PUBLISHED
from media.images import Rendition, clean_image
from media.kinds import Format, MediaKind, byte_limit, sniff
from settings import Settings

CHUNK = 1 << 20
HEAD = 4096
ACCEPTED = "JPEG, PNG, WebP or GIF images, or MP4, WebM or MOV videos"


@dataclass(frozen=True)
class Stored:
    kind: MediaKind
    content_type: str
    byte_size: int
    width: int | None
    height: int | None
    key: str
    thumbnail_key: str | None
    sha256: str


def published_key(sha256: str, extension: str) -> str:
    return f"{PUBLISHED}{sha256}.{extension}"


def largest_limit(settings: Settings) -> int:
    return max(byte_limit(kind, settings) for kind in MediaKind)


def too_large(limit: int) -> BadInput:
    return BadInput(f"the file is too large: at most {limit // (1024 * 1024)} MB")


def spool(source: BinaryIO, destination: BinaryIO, limit: int) -> int:
    """Copies source to destination chunk by chunk; refuses, without reading on, past `limit` bytes."""
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        destination.write(chunk)
    destination.flush()
    return size


def checked_format(path: Path, size: int, settings: Settings) -> Format:
    """What the bytes are, and within that kind's size limit; BadInput otherwise."""
    if size == 0:
        raise BadInput("the file is empty")
    with path.open("rb") as file:
        found = sniff(file.read(HEAD))
    if found is None:
        raise BadInput(f"unsupported file type: send {ACCEPTED}")
    limit = byte_limit(found.kind, settings)
    if size > limit:
        raise too_large(limit)
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def put_rendition(client: Minio, bucket: str, rendition: Rendition) -> tuple[str, str]:
    """(key, sha256) of the stored rendition."""
    sha256 = hashlib.sha256(rendition.data).hexdigest()
    key = published_key(sha256, rendition.extension)
    data = io.BytesIO(rendition.data)
    await storage.put_if_absent(client, bucket, key, data, len(rendition.data), rendition.content_type)
    return key, sha256


async def store_checked(client: Minio, settings: Settings, path: Path, size: int) -> Stored:
    """Checks the spooled file and stores what is served: a cleaned image and its thumbnail, or the video as sent."""
    found = await asyncio.to_thread(checked_format, path, size, settings)
    bucket = settings.media_bucket
    if found.kind is MediaKind.VIDEO:
        sha256 = await asyncio.to_thread(file_sha256, path)
        key = published_key(sha256, found.extension)
        with path.open("rb") as file:
            await storage.put_if_absent(client, bucket, key, file, size, found.content_type)
        return Stored(found.kind, found.content_type, size, None, None, key, None, sha256)
    clean = await asyncio.to_thread(clean_image, path, found, settings)
    key, sha256 = await put_rendition(client, bucket, clean.full)
    thumbnail_key, _ = await put_rendition(client, bucket, clean.thumbnail)
    full = clean.full
    return Stored(found.kind, full.content_type, len(full.data), full.width, full.height, key, thumbnail_key, sha256)


async def store_spooled(client: Minio, settings: Settings, fill: Callable[[BinaryIO], Awaitable[int]]) -> Stored:
    """Runs `fill` (which returns the size it wrote) into a fresh temporary file, then checks and
    stores that file; the file is gone afterwards."""
    with tempfile.NamedTemporaryFile(prefix="chirp-upload-") as spooled:
        size = await fill(cast(BinaryIO, spooled))
        return await store_checked(client, settings, Path(spooled.name), size)


async def ingest_upload(client: Minio, settings: Settings, source: BinaryIO) -> Stored:
    """An upload sent in the request (the multipart route)."""

    async def fill(destination: BinaryIO) -> int:
        return await asyncio.to_thread(spool, source, destination, largest_limit(settings))

    return await store_spooled(client, settings, fill)


async def ingest_incoming(client: Minio, settings: Settings, key: str) -> Stored:
    """An upload put in the bucket by presigned URL: checked like any other, and removed from
    `incoming/` whatever the outcome, so a refused file leaves nothing behind."""
    bucket = settings.media_bucket
    size = await storage.size_of(client, bucket, key)
    if size is None:
        raise NotFound("nothing was uploaded for this upload id (or the upload expired)")
    limit = largest_limit(settings)
    try:
        if size > limit:
            raise too_large(limit)

        async def fill(destination: BinaryIO) -> int:
            # The URL stays valid until it expires, so the object may have changed since it was
            # measured: the copy stops past the limit all the same.
            return await storage.read_object(client, bucket, key, lambda stream: spool(stream, destination, limit))

        return await store_spooled(client, settings, fill)
    finally:
        await storage.remove(client, bucket, key)


def incoming_key(owner_id: int, upload_id: int) -> str:
    """Where a presigned upload lands: under its owner, so nobody else can complete it."""
    return f"{INCOMING}{owner_id}/{upload_id}"
