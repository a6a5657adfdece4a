"""Likes: (:User)-[:LIKED {key, id}]->(:Tweet).

The edge key "user:tweet" is unique, so a like is idempotent under concurrent retries and
"has the viewer liked it" is one index lookup. Nothing is written on the tweet node itself:
200 users liking one tweet at once each create their own edge, with no shared counter to lock.
"""

from neo4j import AsyncDriver
from neo4j.exceptions import ConstraintError

from errors import NotFound
from graph.pages import fetch_page
from graph.records import Page


def like_key(user_id: int, tweet_id: int) -> str:
    return f"{user_id}:{tweet_id}"


async def like(driver: AsyncDriver, user_id: int, tweet_id: int, edge_id: int) -> bool:
    """True when the like was made now, False when it was there already."""
    try:
        records, _, _ = await driver.execute_query(
            """
            MATCH (u:User {id: $userId}), (t:Tweet {id: $tweetId})
            OPTIONAL MATCH ()-[existing:LIKED {key: $key}]->()
            FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
              CREATE (u)-[:LIKED {key: $key, id: $edgeId}]->(t))
            RETURN existing IS NULL AS created
            """,
            userId=user_id,
            tweetId=tweet_id,
            key=like_key(user_id, tweet_id),
            edgeId=edge_id,
        )
    except ConstraintError:
        return False
    if not records:
        raise NotFound("no such tweet")
    return bool(records[0]["created"])


async def unlike(driver: AsyncDriver, user_id: int, tweet_id: int) -> bool:
    """True when a like was removed now."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (t:Tweet {id: $tweetId})
        OPTIONAL MATCH ()-[l:LIKED {key: $key}]->()
        DELETE l
        RETURN l IS NOT NULL AS removed
        """,
        tweetId=tweet_id,
        key=like_key(user_id, tweet_id),
    )
    if not records:
        raise NotFound("no such tweet")
    return bool(records[0]["removed"])


async def likes_page(driver: AsyncDriver, user_id: int, after: int | None, limit: int) -> Page:
    """The tweets a user liked, most recently liked first; cursor keys are like edge ids."""
    return await fetch_page(
        driver,
        """
        MATCH (:User {id: $id})-[l:LIKED]->(t:Tweet)
        WHERE $after IS NULL OR l.id < $after
        WITH l, t ORDER BY l.id DESC LIMIT $limit
        RETURN collect([l.id, t.id]) AS items
        """,
        limit,
        id=user_id,
        after=after,
    )
