"""Follows: (:User)-[:FOLLOWS {key, id}]->(:User).

Each edge carries key "follower:followee" under a uniqueness constraint, so a follow is
idempotent even under concurrent retries, and "does A follow B" is one index lookup.
The edge id is a Snowflake taken when it was made: the cursor of the follower lists.
"""

from collections.abc import Sequence

from neo4j import AsyncDriver

from graph.edges import EdgeKind, create_once, delete_once, edge_key
from graph.outbox import After, Entry
from graph.pages import fetch_page
from graph.records import Page


def reach_of(user: str) -> str:
    """A user's reach: the number of digits of their follower count ('1' up to 9 followers, '2' up
    to 99...), indexed for typeahead (graph/search.py), which reads the widest reaches first."""
    return f"toString(size(toString(COUNT {{ ({user})<-[:FOLLOWS]-() }})))"


# Set only when it changes, so a follow takes the followee's node lock only then.
REACH = f"""
WITH b, {reach_of("b")} AS reach
WHERE b.reach IS NULL OR b.reach <> reach
SET b.reach = reach
"""
FOLLOWS = EdgeKind("User", "FOLLOWS", "User", then=REACH)


def follow_key(follower_id: int, followee_id: int) -> str:
    return edge_key(follower_id, followee_id)


async def follow(
    driver: AsyncDriver, follower_id: int, followee_id: int, edge_id: int, after: After[bool]
) -> Entry | None:
    """The outbox entry recorded with the follow; `after` is told whether the edge was made now."""
    return await create_once(driver, FOLLOWS, follower_id, followee_id, edge_id, "no such user", after)


async def unfollow(driver: AsyncDriver, follower_id: int, followee_id: int, after: After[bool]) -> Entry | None:
    """The outbox entry recorded with the unfollow; `after` is told whether an edge was removed now."""
    return await delete_once(driver, FOLLOWS, follower_id, followee_id, "no such user", after)


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
    return await _follow_page(driver, "(:User {id: $id})<-[f:FOLLOWS]-(other:User)", user_id, after, limit)


async def following_page(driver: AsyncDriver, user_id: int, after: int | None, limit: int) -> Page:
    """Newest follows first; cursor keys are follow edge ids."""
    return await _follow_page(driver, "(:User {id: $id})-[f:FOLLOWS]->(other:User)", user_id, after, limit)


async def _follow_page(driver: AsyncDriver, pattern: str, user_id: int, after: int | None, limit: int) -> Page:
    return await fetch_page(
        driver,
        f"""
        MATCH {pattern}
        WHERE $after IS NULL OR f.id < $after
        WITH f, other ORDER BY f.id DESC LIMIT $limit
        RETURN collect([f.id, other.id]) AS items
        """,
        limit,
        id=user_id,
        after=after,
    )


async def following_newest_first(driver: AsyncDriver, viewer_id: int) -> list[int]:
    """The ids of everyone the user follows, the newest follow first (who-to-follow and user
    search look accounts up in it)."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (:User {id: $viewerId})-[f:FOLLOWS]->(y:User)
        WITH y ORDER BY f.id DESC
        RETURN collect(y.id) AS ids
        """,
        viewerId=viewer_id,
        routing_="r",
    )
    return list(records[0]["ids"])
