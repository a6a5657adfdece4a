"""What the fan-out worker asks Neo4j: who receives an entry, who follows whom, who is a celebrity."""

from neo4j import AsyncDriver

from graph.timeline import FIRST_SEEN, REPLY_SEEN, RETWEETED

# What t retweets is looked up once, before the author's followers are expanded.
RECIPIENTS = f"""
MATCH (a:User)-[:POSTED]->(t:Tweet {{id: $id}})
{RETWEETED}
CALL (a) {{
  MATCH (a)<-[:FOLLOWS]-(v:User) RETURN v
  UNION
  RETURN a AS v
}}
WITH v, a, t, o
WHERE {REPLY_SEEN} AND {FIRST_SEEN}
RETURN collect(v.id) AS ids
"""

# After a retweet of $subjectId by $authorId is gone, the entry each of the retweeter's
# followers (and the retweeter) now sees first for that subject, if any.
FIRST_OCCURRENCES = f"""
MATCH (o:Tweet {{id: $subjectId}}), (r:User {{id: $authorId}})
CALL (r) {{
  MATCH (r)<-[:FOLLOWS]-(v:User) RETURN v
  UNION
  RETURN r AS v
}}
CALL (v, o) {{
  CALL (o) {{
    RETURN o AS t
    UNION
    MATCH (o)<-[:RETWEET_OF]-(t:Tweet) RETURN t
  }}
  MATCH (t)<-[:POSTED]-(a:User)
  WHERE a = v OR EXISTS {{ (v)-[:FOLLOWS]->(a) }}
  WITH v, a, t WHERE {REPLY_SEEN}
  RETURN min(t.id) AS first
}}
WITH v, first WHERE first IS NOT NULL
RETURN collect([v.id, first]) AS pairs
"""


async def recipients(driver: AsyncDriver, tweet_id: int) -> list[int]:
    """The author and every follower of the author who sees this entry; empty if it is gone."""
    records, _, _ = await driver.execute_query(RECIPIENTS, id=tweet_id, routing_="r")
    return list(records[0]["ids"])


async def first_occurrences(driver: AsyncDriver, subject_id: int, retweeter_id: int) -> list[tuple[int, int]]:
    """(viewer, entry) pairs: what each of the retweeter's audience sees first of the subject now."""
    records, _, _ = await driver.execute_query(
        FIRST_OCCURRENCES, subjectId=subject_id, authorId=retweeter_id, routing_="r"
    )
    return [(viewer, first) for viewer, first in records[0]["pairs"]]


async def follower_ids(driver: AsyncDriver, user_id: int) -> list[int]:
    records, _, _ = await driver.execute_query(
        "MATCH (:User {id: $id})<-[:FOLLOWS]-(f:User) RETURN collect(f.id) AS ids", id=user_id, routing_="r"
    )
    return list(records[0]["ids"])


async def follower_count(driver: AsyncDriver, user_id: int) -> int:
    records, _, _ = await driver.execute_query(
        "MATCH (u:User {id: $id}) RETURN COUNT { (u)<-[:FOLLOWS]-() } AS n", id=user_id, routing_="r"
    )
    return int(records[0]["n"]) if records else 0


async def recent_tweet_ids(driver: AsyncDriver, author_id: int, limit: int) -> tuple[list[int], bool]:
    """The author's newest tweets (retweets and replies included), and whether older ones exist."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (:User {id: $id})-[:POSTED]->(t:Tweet)
        WITH t ORDER BY t.id DESC LIMIT $limit
        RETURN collect(t.id) AS ids
        """,
        id=author_id,
        limit=limit + 1,
        routing_="r",
    )
    ids = list(records[0]["ids"])
    return ids[:limit], len(ids) > limit


async def celebrity_ids(driver: AsyncDriver, threshold: int) -> set[int]:
    """Everyone with at least `threshold` followers (degrees come from the store, not a traversal)."""
    records, _, _ = await driver.execute_query(
        "MATCH (u:User) WHERE COUNT { (u)<-[:FOLLOWS]-() } >= $threshold RETURN collect(u.id) AS ids",
        threshold=threshold,
        routing_="r",
    )
    return set(records[0]["ids"])
