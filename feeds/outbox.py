"""The outbox relay: carries what a committed write recorded (graph/outbox.py) into Redis.

A request relays its own entry right after the commit, for speed; the worker relays whatever a
request did not (Redis was down, the process died). Either may do it twice, so every effect is
safe to repeat and to apply late: cached records and viewer acts are dropped, never patched (a
patch applied late, after a newer one, would undo it); tweetUpdated subscribers are told; a new
tweet goes into its author's cached timeline (read your own writes); and last the event is appended
to the stream together with its relayed mark, in one transaction. Handling is idempotent too.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from feeds import events, live, timeline, viewer_acts
from feeds.keys import Keys
from feeds.record_cache import following_cache, suggestions_cache, tweet_cache, user_cache
from graph.outbox import Entry
from graph.snowflake import timestamp_ms


@dataclass(frozen=True)
class Effects:
    """What a write causes outside Neo4j. kind and data make the stream event; "changed" events
    carry no fan-out work."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    tweets: list[int] = field(default_factory=list)  # whose cached records go (and subscribers are told)
    users: list[int] = field(default_factory=list)  # whose cached records go
    acts_of: list[int] = field(default_factory=list)  # viewers whose cached likes and retweets go
    suggestions_of: list[int] = field(default_factory=list)  # viewers whose cached who-to-follow goes
    following_of: list[int] = field(default_factory=list)  # users whose cached follow list goes
    author_timeline: list[int] = field(default_factory=list)  # [author, tweet]: into the author's timeline now


def entry(keys: Keys, entry_id: int, effects: Effects) -> Entry:
    return Entry(id=entry_id, destination=keys.events, payload=json.dumps(asdict(effects)))


async def relay(redis: Redis, keys: Keys, entries: Sequence[Entry], timeline_cap: int) -> None:
    """Applies each entry's effects, then appends its event; raises on a Redis failure (what was
    not appended stays owed)."""
    for item in entries:
        effects = Effects(**json.loads(item.payload))
        await tweet_cache(keys.tweet).invalidate(redis, effects.tweets)
        await user_cache(keys.user).invalidate(redis, effects.users)
        await viewer_acts.forget(redis, keys, effects.acts_of)
        await suggestions_cache(keys.suggestions).invalidate(redis, effects.suggestions_of)
        await following_cache(keys.following).invalidate(redis, effects.following_of)
        await live.tweets_changed(redis, keys, effects.tweets)
        if effects.author_timeline:
            author_id, tweet_id = effects.author_timeline
            await timeline.insert(
                redis,
                [keys.timeline(author_id)],
                tweet_id,
                timeline_cap,
                channel_prefix=keys.live_viewer_prefix,
                message=json.dumps({"tweet": tweet_id}),
            )
        await events.append(redis, keys, item.id, effects.kind, effects.data, timestamp_ms(item.id))
