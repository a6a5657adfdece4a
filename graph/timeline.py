"""The home timeline computed straight from Neo4j (the pull engine).

It is the definition of what a home timeline holds, the fallback for paging past what Redis
keeps, and the oracle and baseline that the hybrid engine is tested and measured against.

Viewer v sees entry t when:
- t was posted by v or by someone v follows;
- t is not a reply, or v wrote it, or v wrote what it answers, or v follows who it answers;
- no older entry that v sees has the same subject (a tweet and its retweets show once: the
  first to reach the timeline stays, later retweets of it add nothing).
"""

from neo4j import AsyncDriver

from graph.pages import fetch_page
from graph.records import Page

PULL_TIMELINE = """
MATCH (v:User {id: $viewerId})
CALL (v) {
  MATCH (v)-[:FOLLOWS]->(a:User) RETURN a
  UNION
  RETURN v AS a
}
MATCH (a)-[:POSTED]->(t:Tweet)
WHERE $before IS NULL OR t.id < $before
OPTIONAL MATCH (t)-[:REPLY_TO]->(:Tweet)<-[:POSTED]-(answered:User)
WITH v, a, t, answered
WHERE answered IS NULL OR a = v OR answered = v OR EXISTS { (v)-[:FOLLOWS]->(answered) }
OPTIONAL MATCH (t)-[:RETWEET_OF]->(o:Tweet)
WITH v, t, o
WHERE o IS NULL OR NOT (
  EXISTS {
    MATCH (o)<-[:POSTED]-(oa:User)
    WHERE (oa = v OR EXISTS { (v)-[:FOLLOWS]->(oa) })
      AND NOT EXISTS {
        MATCH (o)-[:REPLY_TO]->(:Tweet)<-[:POSTED]-(oanswered:User)
        WHERE oa <> v AND oanswered <> v AND NOT EXISTS { (v)-[:FOLLOWS]->(oanswered) }
      }
  }
  OR EXISTS {
    MATCH (o)<-[:RETWEET_OF]-(earlier:Tweet)<-[:POSTED]-(ra:User)
    WHERE earlier.id < t.id AND (ra = v OR EXISTS { (v)-[:FOLLOWS]->(ra) })
  }
)
RETURN t.id AS key, t.id AS id
ORDER BY t.id DESC
LIMIT $limit
"""


async def pull_home_timeline(driver: AsyncDriver, viewer_id: int, before: int | None, limit: int) -> Page:
    """Entries newest first, strictly older than `before` when given."""
    return await fetch_page(driver, PULL_TIMELINE, limit, viewerId=viewer_id, before=before)
