"""Users: creation, credentials, profiles, batched reads."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from errors import Conflict, NotFound
from graph.batches import fill_in_batches
from graph.folding import fold
from graph.follows import reach_of
from graph.lookup import records_by_ids
from graph.outbox import After, Entry, write
from graph.records import UserRecord
from graph.snowflake import EPOCH_MS, MS_DIVISOR

USER_PROJECTION = """
u {
  .id, .handle, .displayName, .bio, .avatarMediaId,
  discoverable: coalesce(u.discoverable, true),
  followerCount: COUNT { (u)<-[:FOLLOWS]-() },
  followingCount: COUNT { (u)-[:FOLLOWS]->() },
  tweetCount: COUNT { (u)-[:POSTED]->() }
}
"""


def user_record(row: dict[str, Any]) -> UserRecord:
    return UserRecord(
        id=row["id"],
        handle=row["handle"],
        display_name=row["displayName"],
        bio=row["bio"],
        avatar_media_id=row["avatarMediaId"],
        discoverable=row["discoverable"],
        follower_count=row["followerCount"],
        following_count=row["followingCount"],
        tweet_count=row["tweetCount"],
    )


async def create_user(
    driver: AsyncDriver, *, user_id: int, handle: str, display_name: str, password_hash: str
) -> UserRecord:
    """A taken handle, in any case, is a Conflict (the lower-cased handle is unique)."""
    try:
        records, _, _ = await driver.execute_query(
            f"""
            CREATE (u:User {{id: $id, handle: $handle, handleLower: toLower($handle),
                             displayName: $displayName, nameKey: $nameKey, bio: '', passwordHash: $passwordHash,
                             activeAt: timestamp(), reach: '1'}})
            RETURN {USER_PROJECTION} AS user
            """,
            id=user_id,
            handle=handle,
            displayName=display_name,
            nameKey=fold(display_name),
            passwordHash=password_hash,
        )
    except ConstraintError as error:
        raise Conflict(f"the handle @{handle} is taken") from error
    return user_record(records[0]["user"])


@dataclass(frozen=True)
class Credentials:
    user_id: int
    handle: str
    password_hash: str
    token_generation: int  # see graph/tokens.py


CREDENTIALS = (
    "RETURN u.id AS id, u.handle AS handle, u.passwordHash AS hash, coalesce(u.tokenGeneration, 0) AS generation"
)


async def credentials(
    driver: AsyncDriver, *, handle: str | None = None, user_id: int | None = None
) -> Credentials | None:
    """What logging in checks, found by handle (whatever its case) or by id; None when there is no such user."""
    match = "MATCH (u:User {handleLower: toLower($handle)})" if handle is not None else "MATCH (u:User {id: $id})"
    records, _, _ = await driver.execute_query(f"{match} {CREDENTIALS}", handle=handle, id=user_id, routing_="r")
    if not records:
        return None
    record = records[0]
    return Credentials(record["id"], record["handle"], record["hash"], record["generation"])


async def users_by_ids(driver: AsyncDriver, ids: Sequence[int]) -> dict[int, UserRecord]:
    return await records_by_ids(driver, "u:User", USER_PROJECTION, user_record, ids)


async def user_id_by_handle(driver: AsyncDriver, handle: str) -> int | None:
    records, _, _ = await driver.execute_query(
        "MATCH (u:User {handleLower: toLower($handle)}) RETURN u.id AS id", handle=handle, routing_="r"
    )
    return records[0]["id"] if records else None


async def update_profile(
    driver: AsyncDriver,
    user_id: int,
    *,
    display_name: str | None,
    bio: str | None,
    avatar_media_id: int | None,
    discoverable: bool | None,
    after: After[None],
) -> Entry | None:
    """Sets only what is given; an avatar must be an image the user uploaded. Returns the outbox
    entry recorded with the change."""

    async def work(tx: AsyncManagedTransaction) -> None:
        result = await tx.run(
            """
            MATCH (u:User {id: $id})
            OPTIONAL MATCH (u)-[:UPLOADED]->(m:Media {id: $avatarMediaId})
            WITH u, m
            WHERE $avatarMediaId IS NULL OR m IS NOT NULL
            SET u.displayName = coalesce($displayName, u.displayName),
                u.nameKey = coalesce($nameKey, u.nameKey),
                u.bio = coalesce($bio, u.bio),
                u.avatarMediaId = coalesce($avatarMediaId, u.avatarMediaId),
                u.discoverable = coalesce($discoverable, u.discoverable)
            RETURN u.id AS id
            """,
            id=user_id,
            displayName=display_name,
            nameKey=None if display_name is None else fold(display_name),
            bio=bio,
            avatarMediaId=avatar_media_id,
            discoverable=discoverable,
        )
        if await result.single() is None:
            raise NotFound("no such media of yours")

    _, entry = await write(driver, work, after)
    return entry


async def fill_name_keys(driver: AsyncDriver, batch: int = 5_000) -> None:
    """Users made before display names were folded for search get theirs (a migration step)."""
    while True:
        records, _, _ = await driver.execute_query(
            "MATCH (u:User) WHERE u.nameKey IS NULL RETURN u.id AS id, u.displayName AS name LIMIT $batch",
            batch=batch,
        )
        if not records:
            return
        await driver.execute_query(
            "UNWIND $rows AS row MATCH (u:User {id: row.id}) SET u.nameKey = row.key",
            rows=[{"id": record["id"], "key": fold(record["name"] or "")} for record in records],
        )


async def fill_reach(driver: AsyncDriver) -> None:
    """Users made before reach was kept get it (a migration step; graph/follows.py keeps it since)."""
    await fill_in_batches(
        driver,
        f"""
        MATCH (u:User) WHERE u.reach IS NULL
        WITH u LIMIT 5000
        SET u.reach = {reach_of("u")}
        RETURN count(*) AS filled
        """,
    )


async def fill_active_at(driver: AsyncDriver) -> None:
    """Users made before activity was recorded get it: their latest post's time, else their sign-up's
    (a migration step; who-to-follow leaves out accounts inactive for long)."""
    await fill_in_batches(
        driver,
        """
        MATCH (u:User) WHERE u.activeAt IS NULL
        WITH u LIMIT 5000
        CALL (u) { OPTIONAL MATCH (u)-[:POSTED]->(t:Tweet) RETURN max(t.id) AS latest }
        SET u.activeAt = $epoch + coalesce(latest, u.id) / $msDivisor
        RETURN count(*) AS filled
        """,
        epoch=EPOCH_MS,
        msDivisor=MS_DIVISOR,
    )
