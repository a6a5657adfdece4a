"""The migrations are idempotent and enforce what they promise."""

import pytest
from neo4j import AsyncDriver
from neo4j.exceptions import ConstraintError

from graph.migrations import apply_migrations


async def test_migrations_run_twice(neo4j: AsyncDriver) -> None:
    await apply_migrations(neo4j)
    await apply_migrations(neo4j)
    records, _, _ = await neo4j.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names")
    assert {"user_id", "user_handle_lower", "tweet_id", "media_id"} <= set(records[0]["names"])
    records, _, _ = await neo4j.execute_query(
        "SHOW FULLTEXT INDEXES YIELD name, state RETURN collect([name, state]) AS indexes"
    )
    indexes = {tuple(i) for i in records[0]["indexes"]}
    assert {("tweet_search", "ONLINE"), ("user_typeahead", "ONLINE")} <= indexes
    assert not {name for name, _ in indexes} & {"tweet_text", "user_search"}, "the indexes they replace are gone"


async def test_lower_cased_handle_is_unique(neo4j: AsyncDriver, run_id: str) -> None:
    await apply_migrations(neo4j)
    handle = f"t{run_id}"
    await neo4j.execute_query("CREATE (:User {id: $id, handleLower: $h})", id=f"a{run_id}", h=handle)
    try:
        with pytest.raises(ConstraintError):
            await neo4j.execute_query("CREATE (:User {id: $id, handleLower: $h})", id=f"b{run_id}", h=handle)
    finally:
        await neo4j.execute_query("MATCH (u:User {handleLower: $h}) DELETE u", h=handle)
