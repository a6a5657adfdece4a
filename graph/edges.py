"""Edges that exist at most once between two nodes (a follow, a like), each with a unique `key`.

Creating one is idempotent even when retries race (the key's uniqueness constraint refuses the
second), and asking whether one exists is a single index lookup on its key. A change records its
outbox entry in its own transaction (graph/outbox.py).
"""

from dataclasses import dataclass

from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from errors import NotFound
from graph.outbox import After, Entry, write


@dataclass(frozen=True)
class EdgeKind:
    """(:start)-[:type]->(:end); names from this package's constants, never from input."""

    start: str
    type: str
    end: str
    # Cypher run on the end node `b` in the change's own transaction, after it (say, a tier kept on it).
    then: str = ""

    def then_clause(self, carried: str) -> str:
        """`then` as a subquery, carrying `carried` (the variables the query returns) past it."""
        return f"WITH b, {carried} CALL (b) {{ {self.then} }}" if self.then else ""


def edge_key(start_id: int, end_id: int) -> str:
    return f"{start_id}:{end_id}"


async def create_once(
    driver: AsyncDriver,
    kind: EdgeKind,
    start_id: int,
    end_id: int,
    edge_id: int,
    missing: str,
    after: After[bool],
) -> Entry | None:
    """Makes the edge unless it is there; `after` is given whether it was made now, and the entry it
    makes is recorded with the edge. NotFound(missing) when an end is missing."""
    start_label, edge_type, end_label = kind.start, kind.type, kind.end

    async def work(tx: AsyncManagedTransaction) -> bool:
        result = await tx.run(
            f"""
            MATCH (a:{start_label} {{id: $start}}), (b:{end_label} {{id: $end}})
            OPTIONAL MATCH ()-[existing:{edge_type} {{key: $key}}]->()
            FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
              CREATE (a)-[:{edge_type} {{key: $key, id: $edgeId}}]->(b))
            {kind.then_clause("existing")}
            RETURN existing IS NULL AS created
            """,
            start=start_id,
            end=end_id,
            key=edge_key(start_id, end_id),
            edgeId=edge_id,
        )
        row = await result.single()
        if row is None:
            raise NotFound(missing)
        return bool(row["created"])

    try:
        _, entry = await write(driver, work, after)
    except ConstraintError:  # a racing retry made it first
        return None
    return entry


async def delete_once(
    driver: AsyncDriver, kind: EdgeKind, start_id: int, end_id: int, missing: str, after: After[bool]
) -> Entry | None:
    """Removes the edge if it is there; `after` is given whether it was removed now. NotFound(missing)
    when the end node does not exist."""
    edge_type, end_label = kind.type, kind.end

    async def work(tx: AsyncManagedTransaction) -> bool:
        result = await tx.run(
            f"""
            MATCH (b:{end_label} {{id: $end}})
            OPTIONAL MATCH ()-[edge:{edge_type} {{key: $key}}]->()
            DELETE edge
            {kind.then_clause("edge")}
            RETURN edge IS NOT NULL AS removed
            """,
            end=end_id,
            key=edge_key(start_id, end_id),
        )
        row = await result.single()
        if row is None:
            raise NotFound(missing)
        return bool(row["removed"])

    _, entry = await write(driver, work, after)
    return entry
