"""Retweets: a Tweet with no text, (:Tweet)-[:RETWEET_OF]->(:Tweet), posted by the retweeter.

Each retweet carries retweetKey "user:original" under a uniqueness constraint: one retweet per
user per tweet, even when retries race.
"""

from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from errors import NotFound
from graph.edges import edge_key
from graph.outbox import After, Entry, write
from graph.search import day_of
from graph.snowflake import timestamp_ms
from graph.tweets import ACTIVE_STEP_MS


def retweet_key(user_id: int, original_id: int) -> str:
    return edge_key(user_id, original_id)


async def retweet(
    driver: AsyncDriver, user_id: int, original_id: int, new_id: int, after: After[bool]
) -> tuple[int, Entry | None]:
    """(the retweet's id, the outbox entry recorded with it); `after` is told whether it was made
    now. original_id must not itself be a retweet."""
    key = retweet_key(user_id, original_id)

    async def work(tx: AsyncManagedTransaction) -> tuple[int, bool]:
        result = await tx.run(
            """
            MATCH (u:User {id: $userId}), (o:Tweet {id: $originalId})
            OPTIONAL MATCH (existing:Tweet {retweetKey: $key})
            FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
              CREATE (u)-[:POSTED]->(:Tweet {id: $id, authorId: $userId, text: '', hashtags: [], day: $day,
                                             retweetKey: $key})-[:RETWEET_OF]->(o))
            WITH u, existing
            CALL (u, existing) {
              WITH u, existing WHERE existing IS NULL AND coalesce(u.activeAt, 0) < timestamp() - $activeStepMs
              SET u.activeAt = timestamp()
            }
            RETURN coalesce(existing.id, $id) AS id, existing IS NULL AS created
            """,
            userId=user_id,
            originalId=original_id,
            key=key,
            id=new_id,
            day=day_of(timestamp_ms(new_id)),
            activeStepMs=ACTIVE_STEP_MS,
        )
        row = await result.single()
        if row is None:
            raise NotFound("no such tweet")
        return row["id"], bool(row["created"])

    try:
        (retweet_id, _), entry = await write(driver, work, lambda outcome: after(outcome[1]))
    except ConstraintError:  # a racing retry made it first
        existing = await retweet_of(driver, user_id, original_id)
        if existing is None:
            raise
        return existing, None
    return retweet_id, entry


async def retweet_of(driver: AsyncDriver, user_id: int, original_id: int) -> int | None:
    records, _, _ = await driver.execute_query(
        "MATCH (r:Tweet {retweetKey: $key}) RETURN r.id AS id", key=retweet_key(user_id, original_id)
    )
    return records[0]["id"] if records else None


async def undo_retweet(
    driver: AsyncDriver, user_id: int, original_id: int, after: After[int | None]
) -> tuple[int | None, Entry | None]:
    """Deletes the user's retweet of the tweet: (its id, or None when there was none; the outbox
    entry recorded with the change)."""

    async def work(tx: AsyncManagedTransaction) -> int | None:
        result = await tx.run(
            """
            MATCH (o:Tweet {id: $originalId})
            OPTIONAL MATCH (r:Tweet {retweetKey: $key})
            WITH r, r.id AS id
            DETACH DELETE r
            RETURN id
            """,
            originalId=original_id,
            key=retweet_key(user_id, original_id),
        )
        row = await result.single()
        if row is None:
            raise NotFound("no such tweet")
        removed: int | None = row["id"]
        return removed

    return await write(driver, work, after)
