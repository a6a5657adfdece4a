"""The per-request context: the process-wide clients, who is asking, and the request's DataLoaders."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, TypeVar

from neo4j import AsyncDriver
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from errors import Unauthenticated
from feeds.budgets import Admitted
from graph import follows, suggestions
from graph import media as graph_media
from graph import notifications as graph_notifications
from graph.records import MediaRecord, NotificationRecord, TweetRecord, UserRecord
from resolvers.auth import Claims, bearer_token, claims_of
from resolvers.clients import Clients
from resolvers.hydration import load_flags, load_following, load_tweets, load_users

K = TypeVar("K")
V = TypeVar("V")


class RecordsLoader(DataLoader[K, V | None]):
    """A loader over a batched fetch returning {key: record}; a missing key loads as None.

    load_batch serves a batch known whole (a page's tweets, their authors) in one fetch, without
    the future per key and the batching task that load_many costs, and keeps what it fetched for
    later single loads.
    """

    def __init__(self, fetch: Callable[[Sequence[K]], Awaitable[dict[K, V]]]) -> None:
        async def load(keys: list[K]) -> list[V | None]:
            found = await fetch(keys)
            return [found.get(key) for key in keys]

        super().__init__(load_fn=load)
        self._fetch = fetch

    async def load_found(self, keys: Sequence[K]) -> dict[K, V]:
        """{key: record} for the keys that name one, through the DataLoader: batched with the loads
        of sibling resolvers."""
        return {key: value for key, value in zip(keys, await self.load_many(keys), strict=True) if value is not None}

    async def load_batch(self, keys: Sequence[K]) -> dict[K, V]:
        """{key: record} for the keys that name one; the loader's earlier results are reused."""
        found: dict[K, V] = {}
        missing: list[K] = []
        for key in dict.fromkeys(keys):
            future = self.cache_map.get(key)
            if future is not None and future.done() and not future.cancelled() and future.exception() is None:
                if (record := future.result()) is not None:
                    found[key] = record
            else:
                missing.append(key)
        if missing:
            fetched = await self._fetch(missing)
            self.prime_many({key: fetched.get(key) for key in missing})
            found.update(fetched)
        return found


def flags_loader(fetch: Callable[[Sequence[K]], Awaitable[Iterable[K]]]) -> DataLoader[K, bool]:
    """A loader over a batched fetch returning the keys for which a flag holds."""

    async def load(keys: list[K]) -> list[bool]:
        hits = set(await fetch(keys))
        return [key in hits for key in keys]

    return DataLoader(load_fn=load)


@dataclass
class Context:
    """One per HTTP request, or one per WebSocket connection (whose operations share it)."""

    clients: Clients
    authorization: str | None
    # The caller's address: the socket's peer, or what a trusted proxy says (client_ip.py).
    client_ip: str = "unknown"
    # HTTP: the response to come, whose headers and status the protection extension sets.
    response: Response | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # A WebSocket's connection_init payload (set by Strawberry): carries "Authorization" there.
    connection_params: dict[str, object] | None = None
    # Whether the bearer token is still good (not logged out, not older than a password change):
    # checked once per operation by resolvers/admission.py before any resolver runs.
    standing: Literal["unchecked", "good", "revoked"] = "unchecked"
    standing_known: asyncio.Event = field(default_factory=asyncio.Event)  # set once it was checked
    # The requested cost of the operation (schema/cost.py), and what admitting it spent (Query.rateLimit).
    query_cost: int = 0
    root_fields: frozenset[str] = frozenset()  # the operation's root response names
    admitted: "Admitted | None" = None
    # Whether records and the viewer's flags are read from Neo4j (refreshing the caches), not from
    # the caches: for a mutation's answer (schema/committed.py).
    fresh: bool = False

    @cached_property
    def claims(self) -> Claims | None:
        """The bearer token's claims, None when anonymous; a bad or expired token is UNAUTHENTICATED."""
        params = self.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization", self.authorization))
        token = bearer_token(authorization if isinstance(authorization, str) else None)
        return None if token is None else claims_of(self.clients.settings, token)

    def settle(self, standing: Literal["good", "revoked"]) -> None:
        self.standing = standing
        self.standing_known.set()

    def forget_loaded(self) -> None:
        """Drops what the DataLoaders loaded: a subscription's context lives as long as its
        connection, and each update must show the records as they are now. Every loader is a cached
        property, kept in the instance's __dict__ once made: dropping it there makes a new one."""
        for name, value in list(vars(self).items()):
            if isinstance(value, DataLoader):
                del self.__dict__[name]

    def optional_viewer(self) -> int | None:
        """The authenticated user's id, None when anonymous; a bad or revoked token is UNAUTHENTICATED."""
        claims = self.claims
        if claims is None:
            return None
        if self.standing == "unchecked":
            raise RuntimeError("the token's standing was not checked: resolvers.admission runs before resolvers")
        if self.standing == "revoked":
            raise Unauthenticated("this token was revoked (logged out, or the password changed); log in again")
        return claims.user_id

    def viewer_claims(self) -> Claims:
        """The claims of the authenticated viewer's token; anonymous requests are UNAUTHENTICATED."""
        if self.optional_viewer() is None or self.claims is None:
            raise Unauthenticated("log in first: send 'Authorization: Bearer <token>'")
        return self.claims

    def viewer(self) -> int:
        """The authenticated user's id; anonymous requests are UNAUTHENTICATED."""
        return self.viewer_claims().user_id

    @property
    def neo4j(self) -> AsyncDriver:
        return self.clients.neo4j

    @cached_property
    def users(self) -> RecordsLoader[int, UserRecord]:
        return RecordsLoader(lambda ids: load_users(self.clients, ids, self.fresh))

    @cached_property
    def tweets(self) -> RecordsLoader[int, TweetRecord]:
        return RecordsLoader(lambda ids: load_tweets(self.clients, ids, self.fresh))

    @cached_property
    def notifications(self) -> RecordsLoader[int, NotificationRecord]:
        return RecordsLoader(lambda ids: graph_notifications.notifications_by_ids(self.neo4j, ids))

    @cached_property
    def media(self) -> RecordsLoader[int, MediaRecord]:
        """Media never change once written: read straight from Neo4j, never cached."""
        return RecordsLoader(lambda ids: graph_media.media_by_ids(self.neo4j, ids))

    @cached_property
    def viewer_tweet_flags(self) -> RecordsLoader[int, tuple[bool, bool]]:
        """(liked, retweeted) by the viewer, per tweet: both flags of a page in one cache read."""
        viewer_id = self.viewer()
        return RecordsLoader(lambda ids: load_flags(self.clients, viewer_id, ids, self.fresh))

    @cached_property
    def following(self) -> DataLoader[int, list[int]]:
        """Whom a user follows, newest follow first: read once per request, however many resolvers
        ask (user search ranks by it, and so do who-to-follow and each of its followedBy), from the
        cache when it holds the list."""

        async def load(user_ids: list[int]) -> list[list[int]]:
            found = await load_following(self.clients, user_ids, self.fresh)
            return [list(found[user_id].ids) for user_id in user_ids]

        return DataLoader(load_fn=load)

    @cached_property
    def followed_by(self) -> DataLoader[tuple[int, int], tuple[int, ...]]:
        """(account, n): the first n of the viewer's follows who follow the account, newest follow
        first. One query for every account of an answer, at the largest n asked."""
        viewer_id = self.viewer()

        async def load(keys: list[tuple[int, int]]) -> list[tuple[int, ...]]:
            following = await self.following.load(viewer_id)
            user_ids = list(dict.fromkeys(user_id for user_id, _ in keys))
            found = await suggestions.proofs(self.neo4j, viewer_id, following, user_ids, max(n for _, n in keys))
            return [found[user_id].followed_by[:n] for user_id, n in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def viewer_follows(self) -> DataLoader[int, bool]:
        viewer_id = self.viewer()

        async def fetch(ids: Sequence[int]) -> list[int]:
            found = await follows.existing_follows(self.neo4j, [(viewer_id, other) for other in ids])
            return [followee for _, followee in found]

        return flags_loader(fetch)

    @cached_property
    def follows_viewer(self) -> DataLoader[int, bool]:
        viewer_id = self.viewer()

        async def fetch(ids: Sequence[int]) -> list[int]:
            found = await follows.existing_follows(self.neo4j, [(other, viewer_id) for other in ids])
            return [follower for follower, _ in found]

        return flags_loader(fetch)
