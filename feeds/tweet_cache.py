"""A cache of tweet records in Redis, in front of Neo4j; dropped on every change to a tweet."""

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from redis.asyncio import Redis

from feeds.keys import Keys
from graph.records import TweetRecord


def encode(record: TweetRecord) -> bytes:
    fields = asdict(record)
    fields["edited_at"] = None if record.edited_at is None else record.edited_at.isoformat()
    return json.dumps(fields, separators=(",", ":")).encode()


def decode(value: bytes | str) -> TweetRecord:
    fields = json.loads(value)
    edited_at = fields["edited_at"]
    fields["edited_at"] = None if edited_at is None else datetime.fromisoformat(edited_at)
    fields["hashtags"] = tuple(fields["hashtags"])
    fields["mention_ids"] = tuple(fields["mention_ids"])
    return TweetRecord(**fields)


async def get_many(redis: Redis, keys: Keys, ids: Sequence[int]) -> dict[int, TweetRecord]:
    """The cached records among ids; absent ones are simply missing from the answer."""
    if not ids:
        return {}
    values = await redis.mget([keys.tweet(tweet_id) for tweet_id in ids])
    return {tweet_id: decode(value) for tweet_id, value in zip(ids, values, strict=True) if value is not None}


async def put_many(redis: Redis, keys: Keys, records: Sequence[TweetRecord], ttl_seconds: int) -> None:
    if not records:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for record in records:
            pipe.set(keys.tweet(record.id), encode(record), ex=ttl_seconds)
        await pipe.execute()


async def invalidate(redis: Redis, keys: Keys, ids: Sequence[int]) -> None:
    if ids:
        await redis.delete(*(keys.tweet(tweet_id) for tweet_id in ids))
