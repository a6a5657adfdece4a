"""Fetching nodes by id, many at once: what every DataLoader's batch asks of the graph."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from neo4j import AsyncDriver

R = TypeVar("R")


async def records_by_ids(
    driver: AsyncDriver, pattern: str, projection: str, record: Callable[[dict[str, Any]], R], ids: Sequence[int]
) -> dict[int, R]:
    """{id: record} for the ids that name a node; `pattern` binds the node (say "t:Tweet"),
    `projection` maps it to the row `record` reads, which has its id under "id"."""
    found, _, _ = await driver.execute_query(
        f"UNWIND $ids AS id MATCH ({pattern} {{id: id}}) RETURN {projection} AS row", ids=list(ids), routing_="r"
    )
    return {row["row"]["id"]: record(row["row"]) for row in found}
