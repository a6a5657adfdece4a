"""Notifications: (:User)-[:NOTIFIED]->(:Notification {kind, actorId, tweetId, read}).

Created by the fan-out worker from events, never in the request path. Each has a key (recipient,
kind, actor, tweet) under a uniqueness constraint, so an event handled twice, or a like, unlike
and like again, notifies once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncDriver

from graph.lookup import records_by_ids
from graph.pages import fetch_page
from graph.records import NotificationRecord, Page

NOTIFICATION_PROJECTION = """
{id: n.id, recipient_id: n.recipientId, kind: n.kind, actor_id: n.actorId, tweet_id: n.tweetId, read: n.read}
"""
# A notification about a tweet since deleted is not shown.
SHOWN = "(n.tweetId IS NULL OR EXISTS { MATCH (:Tweet {id: n.tweetId}) })"


def notification_record(row: dict[str, Any]) -> NotificationRecord:
    return NotificationRecord(**row)


@dataclass(frozen=True)
class Wanted:
    id: int  # used only if the notification is new
    recipient_id: int
    kind: str
    tweet_id: int | None


async def create_notifications(driver: AsyncDriver, actor_id: int, wanted: Sequence[Wanted]) -> list[tuple[int, int]]:
    """Creates those not there yet; returns (recipient, notification id) of each created now."""
    if not wanted:
        return []
    records, _, _ = await driver.execute_query(
        """
        UNWIND $wanted AS w
        MATCH (r:User {id: w.recipient})
        MERGE (n:Notification {key: w.key})
          ON CREATE SET n.id = w.id, n.recipientId = w.recipient, n.kind = w.kind, n.actorId = $actorId,
                        n.tweetId = w.tweet, n.read = false
        MERGE (r)-[:NOTIFIED]->(n)
        WITH w, n WHERE n.id = w.id
        RETURN w.recipient AS recipient, n.id AS id
        """,
        actorId=actor_id,
        wanted=[
            {
                "id": item.id,
                "recipient": item.recipient_id,
                "kind": item.kind,
                "tweet": item.tweet_id,
                "key": f"{item.recipient_id}:{item.kind}:{actor_id}:{item.tweet_id or 0}",
            }
            for item in wanted
        ],
    )
    return [(record["recipient"], record["id"]) for record in records]


async def notifications_by_ids(driver: AsyncDriver, ids: Sequence[int]) -> dict[int, NotificationRecord]:
    return await records_by_ids(driver, "n:Notification", NOTIFICATION_PROJECTION, notification_record, ids)


async def notifications_page(driver: AsyncDriver, user_id: int, after: int | None, limit: int) -> Page:
    """The user's notifications, newest first; cursor keys are notification ids."""
    return await fetch_page(
        driver,
        f"""
        MATCH (:User {{id: $id}})-[:NOTIFIED]->(n:Notification)
        WHERE ($after IS NULL OR n.id < $after) AND {SHOWN}
        WITH n ORDER BY n.id DESC LIMIT $limit
        RETURN collect([n.id, n.id]) AS items
        """,
        limit,
        id=user_id,
        after=after,
    )


async def unread_count(driver: AsyncDriver, user_id: int) -> int:
    records, _, _ = await driver.execute_query(
        f"""
        MATCH (:User {{id: $id}})-[:NOTIFIED]->(n:Notification {{read: false}})
        WHERE {SHOWN}
        RETURN count(n) AS unread
        """,
        id=user_id,
        routing_="r",
    )
    return int(records[0]["unread"])


async def mark_read(driver: AsyncDriver, user_id: int, up_to: int | None) -> int:
    """Marks the user's unread notifications up to this id (all when None) read; returns how many."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (:User {id: $id})-[:NOTIFIED]->(n:Notification {read: false})
        WHERE $upTo IS NULL OR n.id <= $upTo
        SET n.read = true
        RETURN count(n) AS marked
        """,
        id=user_id,
        upTo=up_to,
    )
    return int(records[0]["marked"])
