"""Follows: (:User)-[:FOLLOWS {key, id}]->(:User).

Each edge carries key "follower:followee" under a uniqueness constraint, so a follow is
idempotent even under concurrent retries, and "does A follow B" is one index lookup.
The edge id is a Snowflake taken when it was made: the cursor of the follower lists.
"""

from collections.abc import Sequence

from neo4j import AsyncDriver
from neo4j.exceptions import ConstraintError

from errors import NotFound
from graph.pages import fetch_page
from graph.records import Page


def follow_key(follower_id: int, followee_id: int) -> str:
    return f"{follower_id}:{followee_id}"


async def follow(driver: AsyncDriver, follower_id: int, followee_id: int, edge_id: int) -> bool:
    """True when the edge was made now, False when it was there already."""
    try:
        records, _, _ = await driver.execute_query(
            """
            MATCH (a:User {id: $follower}), (b:User {id: $followee})
            OPTIONAL MATCH ()-[existing:FOLLOWS {key: $key}]->()
            FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
              CREATE (a)-[:FOLLOWS {key: $key, id: $edgeId}]->(b))
            RETURN existing IS NULL AS created
            """,
            follower=follower_id,
            followee=followee_id,
            key=follow_key(follower_id, followee_id),
            edgeId=edge_id,
        )
    except ConstraintError:
        return False
    if not records:
        raise NotFound("no such user")
    return bool(records[0]["created"])


async def unfollow(driver: AsyncDriver, follower_id: int, followee_id: int) -> bool:
    """True when an edge was removed now."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (b:User {id: $followee})
        OPTIONAL MATCH ()-[f:FOLLOWS {key: $key}]->()
        DELETE f
        RETURN f IS NOT NULL AS removed
        """,
        followee=followee_id,
        key=follow_key(follower_id, followee_id),
    )
    if not records:
        raise NotFound("no such user")
    return bool(records[0]["removed"])


async def existing_follows(driver: AsyncDriver, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (follower, followee) pairs are follows: one index lookup each, in one query."""
    if not pairs:
        return set()
    records, _, _ = await driver.execute_query(
        """
        UNWIND $lookups AS lookup
        MATCH ()-[:FOLLOWS {key: lookup.key}]->()
        RETURN lookup.pair AS pair
        """,
        lookups=[{"pair": list(pair), "key": follow_key(*pair)} for pair in pairs],
        routing_="r",
    )
    return {(record["pair"][0], record["pair"][1]) for record in records}


async def followers_page(driver: AsyncDriver, user_id: int, after: int | None, limit: int) -> Page:
    """Newest followers first; cursor keys are follow edge ids."""
    return await fetch_page(
        driver,
        """
        MATCH (:User {id: $id})<-[f:FOLLOWS]-(other:User)
        WHERE $after IS NULL OR f.id < $after
        WITH f, other ORDER BY f.id DESC LIMIT $limit
        RETURN collect([f.id, other.id]) AS items
        """,
        limit,
        id=user_id,
        after=after,
    )


async def following_page(driver: AsyncDriver, user_id: int, after: int | None, limit: int) -> Page:
    """Newest follows first; cursor keys are follow edge ids."""
    return await fetch_page(
        driver,
        """
        MATCH (:User {id: $id})-[f:FOLLOWS]->(other:User)
        WHERE $after IS NULL OR f.id < $after
        WITH f, other ORDER BY f.id DESC LIMIT $limit
        RETURN collect([f.id, other.id]) AS items
        """,
        limit,
        id=user_id,
        after=after,
    )
