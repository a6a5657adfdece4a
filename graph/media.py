"""Media: (:User)-[:UPLOADED]->(:Media), and (:Tweet)-[:HAS_MEDIA {position}]->(:Media).

A Media node is written only after its bytes are checked and stored, and never changes after.
"""

from collections.abc import Sequence
from typing import Any

from neo4j import AsyncDriver

from errors import NotFound
from graph.lookup import records_by_ids
from graph.records import MediaRecord

# The record's own field names, so that a row is a MediaRecord's keyword arguments.
MEDIA_PROJECTION = """
{
  id: m.id, owner_id: m.ownerId, kind: m.kind, content_type: m.contentType, byte_size: m.byteSize,
  width: m.width, height: m.height, alt_text: m.altText, key: m.key, thumbnail_key: m.thumbnailKey,
  sha256: m.sha256
}
"""


def media_record(row: dict[str, Any]) -> MediaRecord:
    return MediaRecord(**row)


async def create_media(driver: AsyncDriver, media: MediaRecord) -> None:
    records, _, _ = await driver.execute_query(
        """
        MATCH (u:User {id: $ownerId})
        CREATE (u)-[:UPLOADED]->(m:Media {id: $id, ownerId: $ownerId, kind: $kind, contentType: $contentType,
                                          byteSize: $byteSize, width: $width, height: $height, altText: $altText,
                                          key: $key, thumbnailKey: $thumbnailKey, sha256: $sha256})
        RETURN m.id AS id
        """,
        id=media.id,
        ownerId=media.owner_id,
        kind=media.kind,
        contentType=media.content_type,
        byteSize=media.byte_size,
        width=media.width,
        height=media.height,
        altText=media.alt_text,
        key=media.key,
        thumbnailKey=media.thumbnail_key,
        sha256=media.sha256,
    )
    if not records:
        raise NotFound("no such user")


async def media_by_ids(driver: AsyncDriver, ids: Sequence[int]) -> dict[int, MediaRecord]:
    return await records_by_ids(driver, "m:Media", MEDIA_PROJECTION, media_record, ids)
