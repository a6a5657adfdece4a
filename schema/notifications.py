"""Notification types: what happened to the viewer, who did it, and the tweet concerned."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from graph.records import NotificationRecord, Page, created_at
from resolvers import notifications
from resolvers.ids import to_cursor, to_global_id
from schema.types import ContextInfo, Node, PageInfo, Tweet, User, load_tweet_or_none, load_user, page_info


@strawberry.enum
class NotificationKind(enum.Enum):
    FOLLOW = "FOLLOW"
    LIKE = "LIKE"
    RETWEET = "RETWEET"
    REPLY = "REPLY"
    MENTION = "MENTION"


@strawberry.type
class Notification(Node):
    kind: NotificationKind
    created_at: datetime
    read: bool
    record: strawberry.Private[NotificationRecord]

    @classmethod
    def of(cls, record: NotificationRecord) -> Notification:
        return cls(
            id=strawberry.ID(to_global_id("Notification", record.id)),
            kind=NotificationKind(record.kind),
            created_at=created_at(record.id),
            read=record.read,
            record=record,
        )

    @strawberry.field
    async def actor(self, info: ContextInfo) -> User:
        return await load_user(info, self.record.actor_id)

    @strawberry.field(description="The tweet concerned; null for FOLLOW.")
    async def tweet(self, info: ContextInfo) -> Tweet | None:
        return await load_tweet_or_none(info, self.record.tweet_id)


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo

    @strawberry.field
    async def unread_count(self, info: ContextInfo) -> int:
        return await notifications.unread_count(info.context)


async def notification_or_none(info: ContextInfo, notification_id: int) -> Notification | None:
    """Only its recipient sees a notification."""
    record = await info.context.notifications.load(notification_id)
    if record is None or record.recipient_id != info.context.optional_viewer():
        return None
    return Notification.of(record)


async def notification_connection(info: ContextInfo, page: Page) -> NotificationConnection:
    records = await info.context.notifications.load_batch([notification_id for _, notification_id in page.items])
    edges = [
        NotificationEdge(cursor=to_cursor(key), node=Notification.of(records[notification_id]))
        for key, notification_id in page.items
        if notification_id in records
    ]
    return NotificationConnection(edges=edges, page_info=page_info(page))
