"""Keyset pagination shared by every connection: cursors are keys, never offsets."""

from typing import Any

from neo4j import AsyncDriver

from graph.records import CursorKey, Page


async def fetch_page(driver: AsyncDriver, cypher: str, limit: int, **params: Any) -> Page:
    """Runs a query that returns one row, `items`: [key, id] pairs in page order, at most $limit;
    a key is an integer or, for a ranked page, a [rank, id] pair.

    One item more than asked is fetched, to tell whether there is a next page. Items come as
    one list rather than a row each: the driver spends far more per row than per list element.
    """
    records, _, _ = await driver.execute_query(cypher, limit=limit + 1, routing_="r", **params)
    items = tuple((cursor_key(key), node_id) for key, node_id in records[0]["items"])
    return Page(items=items[:limit], has_next=len(items) > limit)


def cursor_key(key: int | list[int]) -> CursorKey:
    if isinstance(key, int):
        return key
    rank, node_id = key
    return rank, node_id
