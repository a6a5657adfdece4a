"""Caches of tweet and user records in Redis, in front of Neo4j; a record is dropped on every
change to it (text, counts, existence), so a hit is as fresh as Neo4j."""

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from redis.asyncio import Redis

from graph.records import TweetRecord, UserRecord

R = TypeVar("R", TweetRecord, UserRecord)


def _encode(record: TweetRecord | UserRecord) -> bytes:
    return orjson.dumps(asdict(record))


def _tweet(fields: dict[str, Any]) -> TweetRecord:
    edited_at = fields["edited_at"]
    fields["edited_at"] = None if edited_at is None else datetime.fromisoformat(edited_at)
    fields["hashtags"] = tuple(fields["hashtags"])
    fields["mention_ids"] = tuple(fields["mention_ids"])
    return TweetRecord(**fields)


class RecordCache(Generic[R]):
    """One kind of record: where it is kept and how it is read back."""

    def __init__(self, key: Callable[[int], str], decode: Callable[[dict[str, Any]], R]) -> None:
        self.key = key
        self.decode: Callable[[dict[str, Any]], R] = decode

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

    async def put_many(self, redis: Redis, records: Sequence[R], ttl_seconds: int) -> None:
        if not records:
            return
        async with redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.set(self.key(record.id), _encode(record), ex=ttl_seconds)
            await pipe.execute()

    async def invalidate(self, redis: Redis, ids: Sequence[int]) -> None:
        if ids:
            await redis.delete(*(self.key(record_id) for record_id in ids))


def tweet_cache(key: Callable[[int], str]) -> RecordCache[TweetRecord]:
    return RecordCache(key, _tweet)


def user_cache(key: Callable[[int], str]) -> RecordCache[UserRecord]:
    return RecordCache(key, lambda fields: UserRecord(**fields))
