"""The transactional outbox: what a write must cause outside Neo4j, recorded in its own transaction.

A write that changes cached records or timelines records an (:Outbox:Unrelayed) node in the same
transaction as the change, so the two commit or fail together. A relay (feeds/outbox.py) carries
it to Redis: at once from the request, and from the worker for any that a request did not (Redis
was down, the process died). The worker then takes the Unrelayed label off what it relayed or saw
relayed, and deletes the node once the event's work is done. A node left behind is work still owed.

The payload is opaque here: what it means is the relay's business.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from neo4j import AsyncDriver, AsyncManagedTransaction

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    id: int  # a Snowflake: it gives the record's age, and orders the relay
    destination: str  # the stream it is for (deployments that share a Neo4j keep apart by it)
    payload: str


# Given what a write did: the entry it must record, or None when it changed nothing.
After = Callable[[T], Entry | None]


async def write(
    driver: AsyncDriver, work: Callable[[AsyncManagedTransaction], Awaitable[T]], after: After[T]
) -> tuple[T, Entry | None]:
    """Runs work, and records the entry `after` makes of its outcome, in one transaction (retried
    whole on a transient error). Returns the outcome and the entry recorded."""

    async def unit(tx: AsyncManagedTransaction) -> tuple[T, Entry | None]:
        outcome = await work(tx)
        entry = after(outcome)
        if entry is not None:
            await tx.run(
                "CREATE (:Outbox:Unrelayed {id: $id, destination: $destination, payload: $payload})",
                id=entry.id,
                destination=entry.destination,
                payload=entry.payload,
            )
        return outcome, entry

    async with driver.session() as session:
        return await session.execute_write(unit)


async def unrelayed(driver: AsyncDriver, destination: str, before_id: int, limit: int) -> list[Entry]:
    """The oldest entries not known to be relayed, among those recorded before before_id."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (o:Unrelayed {destination: $destination}) WHERE o.id < $before
        RETURN o.id AS id, o.payload AS payload ORDER BY o.id LIMIT $limit
        """,
        destination=destination,
        before=before_id,
        limit=limit,
        routing_="r",
    )
    return [Entry(record["id"], destination, record["payload"]) for record in records]


async def mark_relayed(driver: AsyncDriver, ids: Sequence[int]) -> None:
    await driver.execute_query("UNWIND $ids AS id MATCH (o:Outbox {id: id}) REMOVE o:Unrelayed", ids=list(ids))


async def mark_all_unrelayed(driver: AsyncDriver, destination: str) -> int:
    """After Redis lost its stream: every entry still owed is relayed again. Returns how many."""
    records, _, _ = await driver.execute_query(
        "MATCH (o:Outbox {destination: $destination}) SET o:Unrelayed RETURN count(o) AS count",
        destination=destination,
    )
    return int(records[0]["count"])


async def prune(driver: AsyncDriver, ids: Sequence[int]) -> None:
    """The entries whose work is done."""
    if ids:
        await driver.execute_query("UNWIND $ids AS id MATCH (o:Outbox {id: id}) DELETE o", ids=list(ids))


async def owed(driver: AsyncDriver, destination: str) -> tuple[int, int | None]:
    """(how many entries are still owed, the oldest one's id)."""
    records, _, _ = await driver.execute_query(
        "MATCH (o:Outbox {destination: $destination}) RETURN count(o) AS count, min(o.id) AS oldest",
        destination=destination,
        routing_="r",
    )
    return int(records[0]["count"]), records[0]["oldest"]
