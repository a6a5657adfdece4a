"""Who-to-follow in the graph: candidates with their features, social proof, popular accounts, and
dismissals. Ranking is resolvers/suggestions.py's; this module only finds and measures.

Candidates come from four sources, each bounded so that a viewer following 5,000 accounts costs
about what one following 200 does:
- friends of friends: the viewer's follows they interact with most (likes, retweets and replies
  among their latest acts) and those followed most recently, at most `expand` of them, each
  expanded through its `per_seed` newest follows; `mutual` counts the seeds that follow a candidate,
  and `closeness` weighs each by how selective it is (Adamic-Adar: 1 / ln(2 + what it follows));
- accounts that follow the viewer, who does not follow them back (the newest);
- authors of recent tweets with the hashtags the viewer used most lately;
- popular accounts active lately (for a new user, the only source; `popular_active`).
Never a candidate: the viewer, an account the viewer follows or dismissed within the memory, one
inactive since `active_since_ms`, or one that opted out (`discoverable: false`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from neo4j import AsyncDriver

from graph.edges import EdgeKind, create_once, delete_once
from graph.outbox import After, Entry

DISMISSED = EdgeKind("User", "DISMISSED", "User")


@dataclass(frozen=True)
class Bounds:
    expand: int  # follows of the viewer expanded
    per_seed: int  # newest follows read of each
    per_source: int  # candidates kept from each source
    acts: int  # the viewer's latest likes, and latest tweets, read for interactions and hashtags
    tags: int  # the viewer's hashtags looked up
    per_tag: int  # tweets read per hashtag


@dataclass(frozen=True)
class Candidate:
    user_id: int
    mutual: int  # seeds following the candidate
    closeness: float  # the same seeds, each counting 1 / ln(2 + the number it follows)
    follows_viewer: bool
    shared_tags: int
    interactions: int  # the viewer's acts on the candidate's tweets
    followers: int
    active_at_ms: int


# A seed's share of a candidate's closeness: one that follows few accounts says more by following it.
CLOSENESS_OF_SEED = "1.0 / log(2 + out)"

# Whether c may be suggested to v. The viewer's follows come as a list parameter, which Cypher
# turns into a set; the viewer's dismissals within the memory are read once, up front.
ELIGIBLE = """
c <> v AND coalesce(c.discoverable, true) AND c.activeAt >= $activeSince AND NOT c.id IN $following
AND NOT c.id IN dismissed
"""

CANDIDATES = f"""
MATCH (v:User {{id: $viewerId}})
WITH v, [(v)-[d:DISMISSED]->(u:User) WHERE d.id >= $dismissedSince | u.id] AS dismissed
CALL (v) {{
  CALL (v) {{
    CALL (v) {{ MATCH (v)-[l:LIKED]->(t:Tweet) RETURN t ORDER BY l.id DESC LIMIT $acts }}
    RETURN t.authorId AS author
    UNION ALL
    CALL (v) {{ MATCH (v)-[:POSTED]->(mine:Tweet) RETURN mine ORDER BY mine.id DESC LIMIT $acts }}
    MATCH (mine)-[:RETWEET_OF|REPLY_TO]->(t:Tweet)
    RETURN t.authorId AS author
  }}
  WITH author, count(*) AS n
  RETURN collect([author, n]) AS acted
}}
CALL (acted) {{
  CALL (acted) {{
    UNWIND acted AS pair
    WITH pair WHERE pair[0] IN $following
    RETURN pair[0] AS seed, pair[1] AS n ORDER BY n DESC LIMIT $expand
    UNION
    UNWIND $following[..$expand] AS seed
    RETURN seed, 0 AS n
  }}
  WITH seed, max(n) AS n ORDER BY n DESC LIMIT $expand
  MATCH (x:User {{id: seed}})
  RETURN collect(x) AS seeds
}}
// Grouped by candidate inside a subquery: outside, `acted` (a list) would be a grouping key of every row.
CALL (v, seeds, dismissed) {{
  CALL (v, seeds, dismissed) {{
    UNWIND seeds AS x
    WITH v, dismissed, x, COUNT {{ (x)-[:FOLLOWS]->() }} AS out
    CALL (x, out) {{  // its newest perSeed follows: all of them, unsorted, when it has no more
      WITH x WHERE out <= $perSeed
      MATCH (x)-[:FOLLOWS]->(c) RETURN c
      UNION ALL
      WITH x WHERE out > $perSeed
      MATCH (x)-[g:FOLLOWS]->(c) RETURN c ORDER BY g.id DESC LIMIT $perSeed
    }}
    WITH v, dismissed, c, count(*) AS mutual, sum({CLOSENESS_OF_SEED}) AS closeness ORDER BY closeness DESC
    WHERE {ELIGIBLE}
    RETURN c, mutual, closeness, 0 AS followsViewer, 0 AS tags LIMIT $perSource
    UNION ALL
    CALL (v) {{ MATCH (c:User)-[g:FOLLOWS]->(v) RETURN c ORDER BY g.id DESC LIMIT $perSource * 4 }}
    WITH v, dismissed, c WHERE {ELIGIBLE}
    RETURN c, 0 AS mutual, 0.0 AS closeness, 1 AS followsViewer, 0 AS tags LIMIT $perSource
    UNION ALL
    CALL (v) {{ MATCH (v)-[:POSTED]->(mine:Tweet) RETURN mine ORDER BY mine.id DESC LIMIT $acts }}
    MATCH (mine)-[:TAGGED]->(h:Hashtag)
    WITH v, dismissed, h, count(*) AS uses ORDER BY uses DESC LIMIT $tags
    CALL (h) {{ MATCH (h)<-[:TAGGED]-(other:Tweet) RETURN other LIMIT $perTag }}
    WITH v, dismissed, other.authorId AS author, count(DISTINCT h) AS tags
    MATCH (c:User {{id: author}})
    WHERE {ELIGIBLE}
    RETURN c, 0 AS mutual, 0.0 AS closeness, 0 AS followsViewer, tags ORDER BY tags DESC LIMIT $perSource
    UNION ALL
    UNWIND $popular AS popularId
    MATCH (c:User {{id: popularId}})
    WHERE {ELIGIBLE}
    RETURN c, 0 AS mutual, 0.0 AS closeness, 0 AS followsViewer, 0 AS tags
  }}
  RETURN c, max(mutual) AS mutual, max(closeness) AS closeness, max(followsViewer) AS followsViewer,
         max(tags) AS tags
}}
// One row: a record per candidate would cost the driver more than the query does.
RETURN collect([c.id, mutual, closeness, followsViewer, tags,
                coalesce([pair IN acted WHERE pair[0] = c.id | pair[1]][0], 0),
                COUNT {{ (c)<-[:FOLLOWS]-() }}, c.activeAt]) AS candidates
"""


async def candidates(
    driver: AsyncDriver,
    viewer_id: int,
    following: Sequence[int],
    popular: Sequence[int],
    bounds: Bounds,
    active_since_ms: int,
    dismissed_since_id: int,
) -> list[Candidate]:
    records, _, _ = await driver.execute_query(
        CANDIDATES,
        viewerId=viewer_id,
        following=list(following),
        popular=list(popular),
        expand=bounds.expand,
        perSeed=bounds.per_seed,
        perSource=bounds.per_source,
        acts=bounds.acts,
        tags=bounds.tags,
        perTag=bounds.per_tag,
        activeSince=active_since_ms,
        dismissedSince=dismissed_since_id,
        routing_="r",
    )
    return [
        Candidate(user_id, mutual, closeness, follows_viewer == 1, tags, interactions, followers, active_at_ms)
        for user_id, mutual, closeness, follows_viewer, tags, interactions, followers, active_at_ms in records[0][
            "candidates"
        ]
    ]


async def popular_active(driver: AsyncDriver, active_since_ms: int, limit: int) -> list[int]:
    """The most followed accounts active lately that may be suggested: a scan of every account, so
    resolvers cache it for everyone."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (u:User) WHERE u.activeAt >= $activeSince AND coalesce(u.discoverable, true)
        WITH u, COUNT { (u)<-[:FOLLOWS]-() } AS followers ORDER BY followers DESC, u.id LIMIT $limit
        RETURN collect(u.id) AS ids
        """,
        activeSince=active_since_ms,
        limit=limit,
        routing_="r",
    )
    return list(records[0]["ids"])


@dataclass(frozen=True)
class Proof:
    mutual_count: int  # every account the viewer follows that follows this one
    followed_by: tuple[int, ...]  # the first of them, the viewer's newest follows first
    closeness: float = 0.0  # Candidate.closeness over all of them


# What one of the viewer's follows follows, about: reading the candidates' followers costs their
# follower counts, and reading from the viewer's side costs this times the viewer's follow count.
FOLLOWS_PER_ACCOUNT = 50

# Each candidate's followers among the viewer's follows, read from whichever side is cheaper: the
# candidates' own followers (their sum of followers; a follower count is a degree, read at once) or
# what the viewer's follows follow (the same for every candidate, so once for all of them). Either
# side counts only the follows in $following: a follow that committed after the list was read (or
# while a cached list was being dropped) is not in it, and has no place in its order.
PROOFS = f"""
UNWIND $ids AS candidateId
MATCH (c:User {{id: candidateId}})
WITH collect(c) AS candidates, sum(COUNT {{ (c)<-[:FOLLOWS]-() }}) AS reads
CALL (candidates, reads) {{
  WITH candidates WHERE reads <= $viewerSideReads
  UNWIND candidates AS c
  MATCH (y)-[:FOLLOWS]->(c) WHERE y.id IN $following
  RETURN c.id AS id, y
  UNION ALL
  WITH candidates WHERE reads > $viewerSideReads
  MATCH (:User {{id: $viewerId}})-[:FOLLOWS]->(y) WHERE y.id IN $following
  CALL (y, candidates) {{ MATCH (y)-[:FOLLOWS]->(c) WHERE c IN candidates RETURN c }}
  RETURN c.id AS id, y
}}
WITH id, y, COUNT {{ (y)-[:FOLLOWS]->() }} AS out
RETURN id, collect(y.id) AS mutual, sum({CLOSENESS_OF_SEED}) AS closeness
"""


async def proofs(
    driver: AsyncDriver, viewer_id: int, following: Sequence[int], user_ids: Sequence[int], first: int
) -> dict[int, Proof]:
    """Each account's mutual count and first `first` followers among the viewer's follows (newest
    first, as `graph.follows.following_newest_first` gives them). The follows are passed as a list,
    which Cypher turns into a set."""
    if not user_ids:
        return {}
    records, _, _ = await driver.execute_query(
        PROOFS,
        ids=list(user_ids),
        viewerId=viewer_id,
        following=list(following),
        viewerSideReads=FOLLOWS_PER_ACCOUNT * len(following),
        routing_="r",
    )
    position = {user_id: index for index, user_id in enumerate(following)}
    found = {
        record["id"]: Proof(
            len(record["mutual"]),
            tuple(sorted(record["mutual"], key=position.__getitem__)[:first]),
            record["closeness"],
        )
        for record in records
    }
    return {user_id: found.get(user_id, Proof(0, ())) for user_id in user_ids}


async def dismiss(driver: AsyncDriver, viewer_id: int, user_id: int, edge_id: int, after: After[bool]) -> Entry | None:
    """Remembered from its edge's id (a time) for the resolver's memory; dismissing again keeps the first."""
    return await create_once(driver, DISMISSED, viewer_id, user_id, edge_id, "no such user", after)


async def undo_dismiss(driver: AsyncDriver, viewer_id: int, user_id: int, after: After[bool]) -> Entry | None:
    return await delete_once(driver, DISMISSED, viewer_id, user_id, "no such user", after)
