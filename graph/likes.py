"""Likes: (:User)-[:LIKED {key, id}]->(:Tweet).

The edge key "user:tweet" is unique, so a like is idempotent under concurrent retries and
"has the viewer liked it" is one index lookup. Nothing is written on the tweet node itself:
200 users liking one tweet at once each create their own edge, with no shared counter to lock.
"""

from neo4j import AsyncDriver

from graph.edges import EdgeKind, create_once, delete_once, edge_key
from graph.outbox import After, Entry
from graph.pages import fetch_page
from graph.records import Page

LIKED = EdgeKind("User", "LIKED", "Tweet")


def like_key(user_id: int, tweet_id: int) -> str:
    return edge_key(user_id, tweet_id)


async def like(driver: AsyncDriver, user_id: int, tweet_id: int, edge_id: int, after: After[bool]) -> Entry | None:
    """The outbox entry recorded with the like; `after` is told whether it was made now."""
    return await create_once(driver, LIKED, user_id, tweet_id, edge_id, "no such tweet", after)


async def unlike(driver: AsyncDriver, user_id: int, tweet_id: int, after: After[bool]) -> Entry | None:
    """The outbox entry recorded with the unlike; `after` is told whether a like was removed now."""
    return await delete_once(driver, LIKED, user_id, tweet_id, "no such tweet", after)


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
