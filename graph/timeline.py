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


def follows(follower: str, followee: str) -> str:
    """Cypher: whether the user with id `follower` follows the one with id `followee` (expressions),
    as one lookup in the index of follow keys (see graph.edges.edge_key)."""
    return f"EXISTS {{ ()-[:FOLLOWS {{key: toString({follower}) + ':' + toString({followee})}}]->() }}"


def reply_seen(tweet: str, author: str) -> str:
    """Cypher: whether v may see `tweet`, posted by `author`, as far as replies go. A reply keeps
    the audience it had (answersUserId is the author it answered) after what it answered is gone."""
    return (
        f"({tweet}.answersUserId IS NULL OR {author} = v OR {tweet}.answersUserId = v.id"
        f" OR {follows('v.id', f'{tweet}.answersUserId')})"
    )


# The rule in parts, for v (viewer), a (author) and t (entry), with a = v or v following a.
# REPLY_SEEN holds when v may see t as a reply. RETWEETED binds o, what t retweets (null unless
# a retweet); FIRST_SEEN holds when no older entry that v sees has the same subject.
REPLY_SEEN = reply_seen("t", "a")
RETWEETED = "OPTIONAL MATCH (t)-[:RETWEET_OF]->(o:Tweet)"
FIRST_SEEN = f"""(o IS NULL OR NOT (
  EXISTS {{
    MATCH (o)<-[:POSTED]-(oa:User)
    WHERE (oa = v OR {follows("v.id", "oa.id")}) AND {reply_seen("o", "oa")}
  }}
  OR EXISTS {{
    MATCH (o)<-[:RETWEET_OF]-(earlier:Tweet)<-[:POSTED]-(ra:User)
    WHERE earlier.id < t.id AND (ra = v OR {follows("v.id", "ra.id")})
  }}
))"""

# Keeps the rows (v, a, t) where v sees t.
VISIBLE = f"""
WITH v, a, t WHERE {REPLY_SEEN}
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
