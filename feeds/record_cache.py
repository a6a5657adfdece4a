"""Caches of tweet and user records in Redis, in front of Neo4j; a record is dropped on every
change to it (text, counts, existence), so a hit is as fresh as Neo4j.

A miss is filled under a lease, taken before Neo4j is read: dropping a record drops its lease
too, and a fill is stored only while its lease holds. So a reader that read Neo4j just before a
like committed cannot put the old count back after the like dropped it (the race of every
cache-aside design without leases).
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from redis.asyncio import Redis

from feeds import leases
from graph.records import Following, Suggestion, Suggestions, TweetRecord, UserRecord

R = TypeVar("R", TweetRecord, UserRecord, Suggestions, Following)

# KEYS: n record keys, then their n lease keys. ARGV: the token, the TTL, then the n encoded records.
PUT_SCRIPT = """
local n = #KEYS / 2
for i = 1, n do
  if redis.call('GET', KEYS[n + i]) == ARGV[1] then
    redis.call('SET', KEYS[i], ARGV[2 + i], 'EX', ARGV[2])
    redis.call('DEL', KEYS[n + i])
  end
end
return 0
"""


def _encode(record: TweetRecord | UserRecord | Suggestions | Following) -> bytes:
    return orjson.dumps(asdict(record))


def _tweet(fields: dict[str, Any]) -> TweetRecord:
    edited_at = fields["edited_at"]
    fields["edited_at"] = None if edited_at is None else datetime.fromisoformat(edited_at)
    fields["hashtags"] = tuple(fields["hashtags"])
    fields["mention_ids"] = tuple(fields["mention_ids"])
    fields["media_ids"] = tuple(fields.get("media_ids", ()))  # records cached before media existed have none
    return TweetRecord(**fields)


def _suggestions(fields: dict[str, Any]) -> Suggestions:
    items = tuple(Suggestion(**item | {"followed_by": tuple(item["followed_by"])}) for item in fields["items"])
    return Suggestions(id=fields["id"], items=items)


class RecordCache(Generic[R]):
    """One kind of record: where it is kept and how it is read back."""

    def __init__(
        self,
        key: Callable[[int], str],
        decode: Callable[[dict[str, Any]], R],
        lease_seconds: int = leases.LEASE_SECONDS,
    ) -> None:
        self.key = key
        self.decode: Callable[[dict[str, Any]], R] = decode
        self.lease_seconds = lease_seconds  # longer than the slowest fill, or it is never stored

    async def get_many(self, redis: Redis, ids: Sequence[int]) -> dict[int, R]:
        """The cached records among ids; absent ones are simply missing from the answer."""
        if not ids:
            return {}
        values = await redis.mget([self.key(record_id) for record_id in ids])
        found: dict[int, R] = {}
        for record_id, value in zip(ids, values, strict=True):
            if value is None:
                continue
            try:
                found[record_id] = self.decode(orjson.loads(value))
            except (TypeError, KeyError, ValueError):
                continue  # written by an older version of the record: a miss, overwritten on load
        return found

    def lease_key(self, record_id: int) -> str:
        return f"{self.key(record_id)}:lease"

    async def lease(self, redis: Redis, ids: Sequence[int]) -> str:
        """Takes the fill lease of each of these missing records that no other reader holds; call
        before reading them from Neo4j. Returns the token that put_many needs."""
        return await leases.take(redis, [self.lease_key(record_id) for record_id in ids], self.lease_seconds)

    async def put_many(self, redis: Redis, records: Sequence[R], token: str, ttl_seconds: int) -> None:
        """Stores the records whose lease this token still holds."""
        if not records:
            return
        script = redis.register_script(PUT_SCRIPT)
        keys = [self.key(record.id) for record in records] + [self.lease_key(record.id) for record in records]
        await script(keys=keys, args=[token, ttl_seconds, *(_encode(record) for record in records)])

    async def invalidate(self, redis: Redis, ids: Sequence[int]) -> None:
        """After a change committed: the records and any lease on them go."""
        if ids:
            await redis.delete(*(self.key(record_id) for record_id in ids), *(self.lease_key(i) for i in ids))


def tweet_cache(key: Callable[[int], str]) -> RecordCache[TweetRecord]:
    return RecordCache(key, _tweet)


def user_cache(key: Callable[[int], str]) -> RecordCache[UserRecord]:
    return RecordCache(key, lambda fields: UserRecord(**fields))


def following_cache(key: Callable[[int], str]) -> RecordCache[Following]:
    """A follow list is read by every typeahead and who-to-follow: from Neo4j, a user following
    thousands costs more than the search itself (~14 ms for 5,000)."""
    return RecordCache(key, lambda fields: Following(id=fields["id"], ids=tuple(fields["ids"])))


def suggestions_cache(key: Callable[[int], str]) -> RecordCache[Suggestions]:
    """Who-to-follow lists take far longer to compute than a record to read (seconds on a large graph)."""
    return RecordCache(key, _suggestions, lease_seconds=60)
