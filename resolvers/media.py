"""Uploads (in the request, or by presigned URL then completed) and the checks on attaching media.

A Media node is written only once its bytes have passed every check and are stored, so a refused
upload leaves nothing in Neo4j or MinIO.
"""

import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from redis.exceptions import RedisError

from errors import BadInput, Forbidden, NotFound, RateLimited
from feeds import tickets
from graph import media as graph_media
from graph.records import MediaRecord
from media import ingest, storage
from media.ingest import Stored
from media.storage import UploadForm
from resolvers.admission import Action, spend_action
from resolvers.context import Context

logger = logging.getLogger("chirp.media")

MAX_ALT_TEXT = 1000  # Twitter's limit
MAX_IMAGES = 4


@dataclass(frozen=True)
class UploadTicket:
    upload_id: int
    form: UploadForm
    expires_at: datetime
    max_byte_size: int


def checked_alt_text(alt_text: str | None) -> str | None:
    if alt_text is None or not alt_text.strip():
        return None
    if len(alt_text) > MAX_ALT_TEXT:
        raise BadInput(f"alt text has at most {MAX_ALT_TEXT} characters")
    return alt_text


async def record_upload(ctx: Context, owner_id: int, stored: Stored, alt_text: str | None) -> int:
    media_id = ctx.clients.ids.next_id()
    await graph_media.create_media(
        ctx.neo4j,
        MediaRecord(
            id=media_id,
            owner_id=owner_id,
            kind=stored.kind.value,
            content_type=stored.content_type,
            byte_size=stored.byte_size,
            width=stored.width,
            height=stored.height,
            alt_text=alt_text,
            key=stored.key,
            thumbnail_key=stored.thumbnail_key,
            sha256=stored.sha256,
        ),
    )
    return media_id


async def upload_media(ctx: Context, source: BinaryIO, alt_text: str | None) -> int:
    owner_id = ctx.viewer()
    alt_text = checked_alt_text(alt_text)
    stored = await ingest.ingest_upload(ctx.clients.minio, ctx.clients.settings, source)
    return await record_upload(ctx, owner_id, stored, alt_text)


async def create_media_upload(ctx: Context) -> UploadTicket:
    """A form to POST one file with, straight into MinIO: for files too large for one API request.
    A viewer holds at most max_open_upload_tickets at once, and MinIO refuses a file over the
    largest upload limit."""
    owner_id = ctx.viewer()
    settings = ctx.clients.settings
    await spend_action(ctx, Action.UPLOAD_TICKET)
    upload_id = ctx.clients.ids.next_id()
    await open_ticket(ctx, owner_id, upload_id)
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.presigned_upload_seconds)
    key = ingest.incoming_key(owner_id, upload_id)
    form = await storage.presigned_post(
        ctx.clients.minio,
        settings.media_bucket,
        settings.media_bucket_url,
        key,
        expires_at,
        ingest.largest_limit(settings),
    )
    return UploadTicket(upload_id, form, expires_at, ingest.largest_limit(settings))


async def open_ticket(ctx: Context, owner_id: int, upload_id: int) -> None:
    settings = ctx.clients.settings
    key = ctx.clients.keys.upload_tickets(owner_id)
    try:
        wait = await tickets.open_ticket(
            ctx.clients.redis, key, upload_id, settings.presigned_upload_seconds, settings.max_open_upload_tickets
        )
    except RedisError:
        logger.warning("Redis is down: upload ticket given without counting it", exc_info=True)
        return
    if wait:
        raise RateLimited(
            f"you have {settings.max_open_upload_tickets} uploads open; complete one, or wait {round(wait)} s", wait
        )


async def complete_media_upload(ctx: Context, upload_id: int, alt_text: str | None) -> int:
    owner_id = ctx.viewer()
    alt_text = checked_alt_text(alt_text)
    key = ingest.incoming_key(owner_id, upload_id)
    try:
        stored = await ingest.ingest_incoming(ctx.clients.minio, ctx.clients.settings, key)
    finally:
        with suppress(RedisError):
            await tickets.close_ticket(ctx.clients.redis, ctx.clients.keys.upload_tickets(owner_id), upload_id)
    return await record_upload(ctx, owner_id, stored, alt_text)


async def owned_media(ctx: Context, media_ids: Sequence[int]) -> list[MediaRecord]:
    """The viewer's own uploads; someone else's is FORBIDDEN, an unknown one NOT_FOUND."""
    viewer_id = ctx.viewer()
    found = await ctx.media.load_batch(media_ids)
    records = []
    for media_id in media_ids:
        record = found.get(media_id)
        if record is None:
            raise NotFound("no such media")
        if record.owner_id != viewer_id:
            raise Forbidden("only the uploader can attach this media")
        records.append(record)
    return records


async def check_attachments(ctx: Context, media_ids: Sequence[int]) -> None:
    """At most 4 images, or one GIF, or one video, each the author's own upload, each once."""
    if len(set(media_ids)) != len(media_ids):
        raise BadInput("the same media is attached twice")
    records = await owned_media(ctx, media_ids)
    kinds = [record.kind for record in records]
    if any(kind != "IMAGE" for kind in kinds) and len(kinds) > 1:
        raise BadInput("a GIF or a video goes alone in a tweet")
    if len(kinds) > MAX_IMAGES:
        raise BadInput(f"a tweet has at most {MAX_IMAGES} images")


async def check_avatar(ctx: Context, media_id: int) -> None:
    (record,) = await owned_media(ctx, [media_id])
    if record.kind != "IMAGE":
        raise BadInput("an avatar is an image (JPEG, PNG or WebP)")
