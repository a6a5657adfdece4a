"""Who sees what in home timelines, computed straight from Neo4j.

The pull query here is the definition of a home timeline: the fallback for paging past what
Redis keeps, the rebuild of a lost cached timeline, and the oracle and baseline that the hybrid
engine is tested and measured against. The fan-out worker asks the same rule, through the same
Cypher fragments, who should receive a tweet.

Viewer v sees entry t, posted by a, when:
- a is v, or v follows a;
- t is not a reply, or a is v, or v wrote what t answers, or v follows who t answers;
- no older entry that v sees has the same subject (a tweet and its retweets show once: the
  first to reach the timeline stays, later retweets of it add nothing).
"""

from neo4j import AsyncDriver

from graph.pages import fetch_page
from graph.records import Page

# The rule in parts, for v (viewer), a (author) and t (entry), with a = v or v following a.
# ANSWERED binds who t answers (null unless t is a reply); REPLY_SEEN holds when v may see t
# as a reply. RETWEETED binds o, what t retweets (null unless a retweet); FIRST_SEEN holds when
# no older entry that v sees has the same subject.
ANSWERED = "OPTIONAL MATCH (t)-[:REPLY_TO]->(:Tweet)<-[:POSTED]-(answered:User)"
REPLY_SEEN = "(answered IS NULL OR a = v OR answered = v OR EXISTS { (v)-[:FOLLOWS]->(answered) })"
RETWEETED = "OPTIONAL MATCH (t)-[:RETWEET_OF]->(o:Tweet)"
FIRST_SEEN = """(o IS NULL OR NOT (
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
))"""

# Keeps the rows (v, a, t) where v sees t.
VISIBLE = f"""
{ANSWERED}
WITH v, a, t, answered WHERE {REPLY_SEEN}
{RETWEETED}
WITH v, t, o WHERE {FIRST_SEEN}
"""

PULL_TIMELINE = f"""
MATCH (v:User {{id: $viewerId}})
CALL (v) {{
  MATCH (v)-[:FOLLOWS]->(a:User) RETURN a
  UNION
  RETURN v AS a
}}
MATCH (a)-[:POSTED]->(t:Tweet)
WHERE $before IS NULL OR t.id < $before
// Sorted before the visibility checks, so that they run lazily, only until the page is full.
WITH v, a, t ORDER BY t.id DESC
{VISIBLE}
WITH t ORDER BY t.id DESC LIMIT $limit
RETURN collect([t.id, t.id]) AS items
"""

VISIBLE_ENTRIES = f"""
MATCH (v:User {{id: $viewerId}})
UNWIND $ids AS id
MATCH (t:Tweet {{id: id}})<-[:POSTED]-(a:User)
WHERE a = v OR EXISTS {{ (v)-[:FOLLOWS]->(a) }}
{VISIBLE}
RETURN t.id AS id
"""


async def pull_home_timeline(driver: AsyncDriver, viewer_id: int, before: int | None, limit: int) -> Page:
    """Entries newest first, strictly older than `before` when given."""
    return await fetch_page(driver, PULL_TIMELINE, limit, viewerId=viewer_id, before=before)


async def visible_entries(driver: AsyncDriver, viewer_id: int, ids: list[int]) -> set[int]:
    """Which of these entries the viewer sees in their home timeline."""
    records, _, _ = await driver.execute_query(VISIBLE_ENTRIES, viewerId=viewer_id, ids=ids, routing_="r")
    return {record["id"] for record in records}
