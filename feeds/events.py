"""The fan-out work queue: a Redis Stream read by one consumer group of workers.

Events are appended by the outbox relay (feeds/outbox.py), each with the id of its outbox entry,
and marked relayed in the same transaction. Each is acknowledged only once its work is done; a
dead worker's pending events are claimed by a live one after an idle time. The stream is trimmed
only below the oldest entry that some consumer has still to read or acknowledge.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.typing import StreamIdT
from redis.utils import str_if_bytes

from feeds.keys import Keys

GROUP = "fanout"
# How long a relayed mark is kept: far longer than a relay waits before it relays an entry again.
RELAYED_KEEP_MS = 3_600_000


StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]
StreamResponse = list[tuple[bytes, StreamEntries]] | None


@dataclass(frozen=True)
class Event:
    id: str
    outbox_id: int
    kind: str
    data: Mapping[str, Any]
    committed_ms: int


async def append(
    redis: Redis, keys: Keys, outbox_id: int, kind: str, data: Mapping[str, Any], committed_ms: int
) -> None:
    """Appends the event and marks its outbox entry relayed, both or neither."""
    fields = {"outbox": outbox_id, "kind": kind, "data": json.dumps(data), "committed_ms": committed_ms}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(keys.events, fields)  # type: ignore[arg-type]
        pipe.zadd(keys.relayed, {str(outbox_id): int(time.time() * 1000)})
        await pipe.execute()


async def relayed(redis: Redis, keys: Keys, outbox_ids: list[int]) -> list[bool]:
    """Which of these outbox entries were appended lately."""
    if not outbox_ids:
        return []
    scores = await redis.zmscore(keys.relayed, [str(outbox_id) for outbox_id in outbox_ids])
    return [score is not None for score in scores]


async def ensure_group(redis: Redis, keys: Keys) -> bool:
    """Creates the consumer group at the start of the stream, so no event appended before it is
    lost. True when it had to: the stream is new, or Redis lost it."""
    try:
        await redis.xgroup_create(keys.events, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
        return False
    return True


def _event(entry_id: bytes, fields: Mapping[bytes, bytes]) -> Event:
    return Event(
        id=entry_id.decode(),
        outbox_id=int(fields[b"outbox"]),
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


async def ack(redis: Redis, keys: Keys, done: list[Event]) -> None:
    """The events' work is done: they leave the pending list, and their relayed marks go."""
    if not done:
        return
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xack(keys.events, GROUP, *(event.id for event in done))
        pipe.zrem(keys.relayed, *(str(event.outbox_id) for event in done))
        await pipe.execute()


async def trim(redis: Redis, keys: Keys) -> None:
    """Drops the entries every consumer is done with (read and acknowledged), and relayed marks
    too old to matter. Never an entry still unread or pending: the cut is the oldest of those."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xinfo_groups(keys.events)
        pipe.xpending(keys.events, GROUP)
        groups, pending = await pipe.execute()
    group = next((g for g in groups if str_if_bytes(g["name"]) == GROUP), None)
    if group is None:
        return
    milliseconds, sequence = stream_id(group["last-delivered-id"])
    cut = (milliseconds, sequence + 1)  # the first entry not yet delivered
    if pending["pending"]:
        cut = min(cut, stream_id(pending["min"]))
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xtrim(keys.events, minid=f"{cut[0]}-{cut[1]}", approximate=True)
        pipe.zremrangebyscore(keys.relayed, "-inf", int(time.time() * 1000) - RELAYED_KEEP_MS)
        await pipe.execute()


def stream_id(value: bytes | str) -> tuple[int, int]:
    """A stream entry id ("<ms>-<seq>"), comparable."""
    milliseconds, _, sequence = str_if_bytes(value).partition("-")
    return int(milliseconds), int(sequence or 0)


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
