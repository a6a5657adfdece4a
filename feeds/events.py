"""The fan-out work queue: a Redis Stream read by one consumer group of workers.

Events are appended after their Neo4j transaction commits. Each is acknowledged only once its
work is done; a dead worker's pending events are claimed by a live one after an idle time.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.typing import StreamIdT

from feeds.keys import Keys

GROUP = "fanout"
# Bounds the stream's memory; far above any backlog a running worker lets build up.
MAX_LENGTH = 10_000_000


StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]
StreamResponse = list[tuple[bytes, StreamEntries]] | None


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    data: Mapping[str, Any]
    committed_ms: int


async def append(redis: Redis, keys: Keys, kind: str, **data: Any) -> None:
    fields = {"kind": kind, "data": json.dumps(data), "committed_ms": str(int(time.time() * 1000))}
    await redis.xadd(keys.events, fields, maxlen=MAX_LENGTH, approximate=True)  # type: ignore[arg-type]


async def ensure_group(redis: Redis, keys: Keys) -> None:
    """Creates the consumer group at the start of the stream, so no event appended before it is lost."""
    try:
        await redis.xgroup_create(keys.events, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _event(entry_id: bytes, fields: Mapping[bytes, bytes]) -> Event:
    return Event(
        id=entry_id.decode(),
        kind=fields[b"kind"].decode(),
        data=json.loads(fields[b"data"]),
        committed_ms=int(fields[b"committed_ms"]),
    )


async def read_new(redis: Redis, keys: Keys, consumer: str, count: int, block_ms: int | None) -> list[Event]:
    """Events no consumer has read yet; waits up to block_ms for one (None: answers at once)."""
    response = cast(
        StreamResponse, await redis.xreadgroup(GROUP, consumer, {keys.events: ">"}, count=count, block=block_ms)
    )
    return [_event(entry_id, fields) for _, entries in response or [] for entry_id, fields in entries]


async def retry_own(redis: Redis, keys: Keys, consumer: str, min_idle_ms: int, count: int) -> list[Event]:
    """Events this consumer read but has not acknowledged for min_idle_ms: those whose handling
    failed here (a Redis or Neo4j hiccup), retried after a short pause rather than after another
    consumer's FANOUT_CLAIM_IDLE_MS. Claiming them again restarts their idle time."""
    pending = await redis.xpending_range(
        keys.events, GROUP, min="-", max="+", count=count, consumername=consumer, idle=min_idle_ms
    )
    if not pending:
        return []
    ids: list[StreamIdT] = [entry["message_id"] for entry in pending]
    claimed = cast(StreamEntries, await redis.xclaim(keys.events, GROUP, consumer, min_idle_ms, ids))
    return [_event(entry_id, fields) for entry_id, fields in claimed if fields]


async def claim_stale(redis: Redis, keys: Keys, consumer: str, min_idle_ms: int, count: int) -> list[Event]:
    """Takes over events another consumer read but did not acknowledge within min_idle_ms."""
    _, entries, _ = cast(
        tuple[bytes, StreamEntries, list[bytes]],
        await redis.xautoclaim(keys.events, GROUP, consumer, min_idle_ms, "0-0", count=count),
    )
    return [_event(entry_id, fields) for entry_id, fields in entries if fields]


async def ack(redis: Redis, keys: Keys, event: Event) -> None:
    await redis.xack(keys.events, GROUP, event.id)


async def backlog(redis: Redis, keys: Keys) -> int:
    """Events not yet acknowledged: read but pending, plus not yet read.

    Redis's own count of the unread (the group's lag) can be wrong, and stays wrong once it is
    (after a group is created on a stream with entries, say), so it is used only while the group
    has not read up to the stream's last entry; once it has, nothing is unread.
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xinfo_groups(keys.events)
        pipe.xinfo_stream(keys.events)
        groups, stream = await pipe.execute()
    for group in groups:
        if group["name"] in (GROUP, GROUP.encode()):
            caught_up = group["last-delivered-id"] == stream["last-generated-id"]
            unread = 0 if caught_up else int(group.get("lag") or stream["length"])
            return int(group.get("pending", 0)) + unread
    return int(stream["length"])
