"""Keyset pagination shared by every connection: cursors are keys, never offsets."""

from typing import Any

from neo4j import AsyncDriver

from graph.records import Page


async def fetch_page(driver: AsyncDriver, cypher: str, limit: int, **params: Any) -> Page:
    """Runs a query returning `key` and `id` rows in page order, limited by $limit.

    One row more than asked is fetched, to tell whether there is a next page.
    """
    records, _, _ = await driver.execute_query(cypher, limit=limit + 1, routing_="r", **params)
    items = tuple((record["key"], record["id"]) for record in records)
    return Page(items=items[:limit], has_next=len(items) > limit)
