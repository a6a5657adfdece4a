"""Live updates: what the worker and the write paths publish on Redis pub/sub, relayed by each app
process to its own subscribers, so that a subscriber on one process sees what another published.

One pub/sub connection per process, subscribed to each channel while at least one local listener
wants it (as Mastodon's streaming server does). A listener's queue is bounded: the relay never
waits for a slow subscriber. When one falls that far behind, what no longer fits is dropped and
the listener is marked as having lost updates; its subscription then ends with an error, and the
client is to query again and resubscribe. A stalled client thus costs at most its queue.
"""

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

import metrics
from feeds.keys import Keys

logger = logging.getLogger("chirp.live")

RESYNC = json.dumps({"resync": True})  # on a viewer's channel: the celebrities they follow changed


class UpdatesLost(Exception):
    """The listener's queue overflowed, or the relay lost Redis: some updates never reached it."""


@dataclass(eq=False)
class Listener:
    queue: asyncio.Queue[tuple[str, dict[str, Any]]]
    channels: frozenset[str] = frozenset()
    lost: bool = False
    subscription: bool = True  # a client's subscription (counted in chirp_live_listeners), not a watch of the server's

    def offer(self, channel: str, message: dict[str, Any]) -> None:
        if self.lost:
            return
        try:
            self.queue.put_nowait((channel, message))
        except asyncio.QueueFull:
            self.lost = True
            metrics.LIVE_DROPPED.inc()

    async def next(self) -> tuple[str, dict[str, Any]]:
        """The next (channel, message); UpdatesLost once the listener has missed any."""
        if self.lost:
            raise UpdatesLost
        return await self.queue.get()


@dataclass(eq=False)
class Relay:
    redis: Redis
    queue_size: int
    listeners: dict[str, set[Listener]] = field(default_factory=dict)  # by channel
    active: set[Listener] = field(default_factory=set)  # those with at least one channel
    _pubsub: PubSub = field(init=False)  # makes no connection until start()
    _task: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)

    async def start(self, own_channel: str) -> None:
        """Subscribes to a channel of the process's own first, so the connection exists before any listener."""
        await self._pubsub.subscribe(own_channel)
        self._task = asyncio.create_task(self._relay())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def listen(self, channels: Iterable[str], *, subscription: bool = True) -> Listener:
        listener = Listener(queue=asyncio.Queue(maxsize=self.queue_size), subscription=subscription)
        await self.retune(listener, channels)
        return listener

    async def retune(self, listener: Listener, channels: Iterable[str]) -> None:
        """Moves the listener to these channels, subscribing to the new ones the process lacks and
        leaving those no local listener wants any more."""
        wanted = frozenset(channels)
        async with self._lock:
            for channel in wanted - listener.channels:
                self.listeners.setdefault(channel, set()).add(listener)
            for channel in listener.channels - wanted:
                self.listeners[channel].discard(listener)
            added = [c for c in wanted - listener.channels if len(self.listeners[c]) == 1]
            gone = [c for c in listener.channels - wanted if not self.listeners[c]]
            for channel in gone:
                del self.listeners[channel]
            listener.channels = wanted
            if added:
                await self._pubsub.subscribe(*added)
            if gone:
                await self._pubsub.unsubscribe(*gone)
            was_active = listener in self.active
            if wanted:
                self.active.add(listener)
            else:
                self.active.discard(listener)
            if listener.subscription and was_active != bool(wanted):
                metrics.LIVE_LISTENERS.inc(1 if wanted else -1)

    async def leave(self, listener: Listener) -> None:
        await self.retune(listener, ())

    async def _relay(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except RedisError:
                # Whatever was published meanwhile is gone: every listener must start over.
                logger.warning("live relay lost Redis; subscribers must resubscribe", exc_info=True)
                for listener in self.active:
                    listener.lost = True
                await asyncio.sleep(1)
                continue
            if message is None or message["type"] != "message":
                continue
            channel = message["channel"].decode()
            data = json.loads(message["data"])
            for listener in list(self.listeners.get(channel, ())):
                listener.offer(channel, data)
            # Messages already buffered are read without suspending: without a yield here, a burst
            # (a process back from a pause) would fill every queue before any subscriber's sender ran.
            await asyncio.sleep(0)


async def publish(redis: Redis, channels: Sequence[str], message: str) -> None:
    """The same message on each channel, in one round trip."""
    if not channels:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for channel in channels:
            pipe.publish(channel, message)
        await pipe.execute()


async def tweets_changed(redis: Redis, keys: Keys, tweet_ids: Iterable[int]) -> None:
    await publish(redis, [keys.live_tweet(tweet_id) for tweet_id in tweet_ids], "{}")


async def celebrities_changed(redis: Redis, keys: Keys, user_ids: Iterable[int]) -> None:
    """Tells these users' live home timelines to look again at which celebrities they follow."""
    await publish(redis, [keys.live_viewer(user_id) for user_id in user_ids], RESYNC)


async def notified(redis: Redis, keys: Keys, created: Iterable[tuple[int, int]]) -> None:
    """(recipient, notification id) pairs, each on its recipient's channel."""
    async with redis.pipeline(transaction=False) as pipe:
        for recipient, notification_id in created:
            pipe.publish(keys.live_notifications(recipient), json.dumps({"notification": notification_id}))
        await pipe.execute()
