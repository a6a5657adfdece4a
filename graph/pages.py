"""Keyset pagination shared by every connection: cursors are keys, never offsets."""

from typing import Any

from neo4j import AsyncDriver

from graph.records import Page


async def fetch_page(driver: AsyncDriver, cypher: str, limit: int, **params: Any) -> Page:
    """Runs a query that returns one row, `items`: [key, id] pairs in page order, at most $limit.

    One item more than asked is fetched, to tell whether there is a next page. Items come as
    one list rather than a row each: the driver spends far more per row than per list element.
    """
    records, _, _ = await driver.execute_query(cypher, limit=limit + 1, routing_="r", **params)
    items = tuple((key, node_id) for key, node_id in records[0]["items"])
    return Page(items=items[:limit], has_next=len(items) > limit)
