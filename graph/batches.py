"""Data fills run in batches, so that no transaction holds a whole store's changes."""

from typing import Any

from neo4j import AsyncDriver


async def fill_in_batches(driver: AsyncDriver, query: str, **parameters: Any) -> None:
    """Runs `query` (which fills one batch and returns `count(*) AS filled`) until a run fills nothing."""
    while True:
        records, _, _ = await driver.execute_query(query, **parameters)
        if records[0]["filled"] == 0:
            return
