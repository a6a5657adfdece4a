"""The migrations are idempotent and enforce what they promise."""

import secrets

import pytest
from neo4j import AsyncDriver
from neo4j.exceptions import ConstraintError

from graph.migrations import apply_migrations
from graph.search import TWEET_INDEX, day_of
from graph.snowflake import first_id_at


async def test_migrations_run_twice(neo4j: AsyncDriver) -> None:
    await apply_migrations(neo4j)
    await apply_migrations(neo4j)
    records, _, _ = await neo4j.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names")
    assert {"user_id", "user_handle_lower", "tweet_id", "media_id"} <= set(records[0]["names"])
    records, _, _ = await neo4j.execute_query(
        "SHOW FULLTEXT INDEXES YIELD name, state, options"
        " RETURN collect([name, state, options.indexConfig.`fulltext.eventually_consistent`]) AS indexes"
    )
    indexes = {tuple(i) for i in records[0]["indexes"]}
    assert {(TWEET_INDEX, "ONLINE", True), ("user_lookup", "ONLINE", False)} <= indexes
    replaced = {"tweet_text", "tweet_search", "user_search", "user_typeahead"}
    assert not {name for name, *_ in indexes} & replaced, "the indexes they replace are gone"


async def test_lower_cased_handle_is_unique(neo4j: AsyncDriver, run_id: str) -> None:
    await apply_migrations(neo4j)
    handle = f"t{run_id}"
    await neo4j.execute_query("CREATE (:User {id: $id, handleLower: $h})", id=f"a{run_id}", h=handle)
    try:
        with pytest.raises(ConstraintError):
            await neo4j.execute_query("CREATE (:User {id: $id, handleLower: $h})", id=f"b{run_id}", h=handle)
    finally:
        await neo4j.execute_query("MATCH (u:User {handleLower: $h}) DELETE u", h=handle)


OLD_SHAPED = """
CREATE (u:User {id: $userId, handleLower: $handle, displayName: 'Ádá Lóvelace'})
CREATE (u)-[:POSTED]->(t:Tweet {id: $tweetId, authorId: $userId, text: 'first'})
CREATE (u)-[:POSTED]->(r:Tweet {id: $replyId, authorId: $userId, text: 'second'})-[:REPLY_TO]->(t)
WITH u UNWIND range(1, 10) AS n
CREATE (u)<-[:FOLLOWS]-(:User {id: $userId + n})
"""
FILLED = """
MATCH (u:User {id: $userId})-[:POSTED]->(t:Tweet {id: $tweetId}), (r:Tweet {id: $replyId})
RETURN u.nameKey AS nameKey, u.activeAt AS activeAt, u.reach AS reach, t.day AS day, r.answersUserId AS answers
"""


async def test_data_migrations_bring_old_records_up_to_date_once(neo4j: AsyncDriver, run_id: str) -> None:
    """A user (followed by ten), a tweet and a reply as older versions wrote them: the data
    migrations give them what this version reads. Once each has run, start-ups skip it (they would
    scan every node)."""
    posted_ms = 1_750_000_000_000 + secrets.randbelow(10**9)
    user_id, tweet_id = first_id_at(posted_ms - 1000), first_id_at(posted_ms)
    ids = {"userId": user_id, "tweetId": tweet_id, "replyId": tweet_id + 1}
    try:
        await neo4j.execute_query(OLD_SHAPED, ids, handle=f"m{run_id}")
        await neo4j.execute_query("MATCH (m:Migration) DELETE m")
        await apply_migrations(neo4j)
        records, _, _ = await neo4j.execute_query(FILLED, ids)
        assert records[0].data() == {
            "nameKey": "ada lovelace",
            "activeAt": posted_ms,
            "reach": "2",
            "day": day_of(posted_ms),
            "answers": user_id,
        }

        await neo4j.execute_query("MATCH (t:Tweet {id: $tweetId}) REMOVE t.day", ids)
        await apply_migrations(neo4j)
        records, _, _ = await neo4j.execute_query(FILLED, ids)
        assert records[0]["day"] is None
    finally:
        await neo4j.execute_query("MATCH (u:User {id: $userId})-[:POSTED]->(t:Tweet) DETACH DELETE u, t", ids)
        await neo4j.execute_query("MATCH (f:User) WHERE $userId < f.id <= $userId + 10 DETACH DELETE f", ids)
