"""Real concurrency over HTTP against one app instance: racing likes, idempotent creates, follows and retweets.

Requests run concurrently on one event loop through httpx's ASGI transport, so they interleave at
every await inside the app, as they would under uvicorn; the store's counts are then checked in Cypher.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from neo4j import AsyncDriver

from app import create_app
from resolvers.ids import from_global_id
from settings import Settings

T = TypeVar("T")

SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id handle } } }"
CREATE_TWEET = "mutation($input: CreateTweetInput!) { createTweet(input: $input) { id text } }"
LIKE = "mutation($id: ID!) { like(tweetId: $id) { id likeCount viewerHasLiked } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id viewerFollows } }"
RETWEET = "mutation($id: ID!) { retweet(tweetId: $id) { id retweetOf { id } } }"
TWEET_COUNTS = "query($id: ID!) { tweet(id: $id) { likeCount retweetCount } }"


@dataclass(frozen=True)
class Account:
    id: str
    handle: str
    token: str


class AsyncApi:
    """A GraphQL client whose requests may run concurrently against one app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def execute(self, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        body = await self.execute(query, variables, token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def sign_up(self) -> Account:
        handle = f"c{uuid.uuid4().hex[:12]}"
        data = await self.data(
            SIGN_UP, {"input": {"handle": handle, "displayName": f"Name {handle}", "password": "correct horse"}}
        )
        payload = data["signUp"]
        return Account(id=payload["user"]["id"], handle=payload["user"]["handle"], token=payload["token"])

    async def tweet(self, account: Account, text: str, **extra: Any) -> str:
        data = await self.data(CREATE_TWEET, {"input": {"text": text, **extra}}, account.token)
        tweet_id: str = data["createTweet"]["id"]
        return tweet_id


async def in_batches(calls: list[Callable[[], Awaitable[T]]], size: int) -> list[T]:
    """Runs the calls `size` at a time, each batch concurrently."""
    results: list[T] = []
    for start in range(0, len(calls), size):
        results.extend(await asyncio.gather(*(call() for call in calls[start : start + size])))
    return results


@pytest.fixture
async def async_api(settings: Settings) -> AsyncIterator[AsyncApi]:
    """One app instance, its lifespan started by hand, served to an in-process async HTTP client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            yield AsyncApi(client)


async def cypher_count(neo4j: AsyncDriver, query: str, **params: Any) -> int:
    records, _, _ = await neo4j.execute_query(query, **params)
    count: int = records[0]["n"]
    return count


async def test_lifespan_opens_the_clients(async_api: AsyncApi) -> None:
    response = await async_api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_two_hundred_concurrent_likes_all_count(async_api: AsyncApi, neo4j: AsyncDriver, run_id: str) -> None:
    likers = await in_batches([async_api.sign_up for _ in range(200)], 20)
    assert len({liker.id for liker in likers}) == 200
    log_in = "mutation($input: LogInInput!) { logIn(input: $input) { user { id } } }"
    logged_in = await async_api.data(log_in, {"input": {"handle": likers[-1].handle, "password": "correct horse"}})
    assert logged_in["logIn"]["user"]["id"] == likers[-1].id
    author = await async_api.sign_up()
    tweet_id = await async_api.tweet(author, f"like me {run_id}")

    bodies = await asyncio.gather(*(async_api.execute(LIKE, {"id": tweet_id}, liker.token) for liker in likers))
    failures = [body for body in bodies if "errors" in body]
    assert not failures, failures[:3]
    for body in bodies:
        assert body["data"]["like"]["id"] == tweet_id
        assert body["data"]["like"]["viewerHasLiked"] is True
        assert 1 <= body["data"]["like"]["likeCount"] <= 200

    counts = await async_api.data(TWEET_COUNTS, {"id": tweet_id})
    assert counts["tweet"]["likeCount"] == 200
    raw_id = from_global_id(tweet_id, "Tweet")
    edges = await cypher_count(neo4j, "MATCH (:User)-[l:LIKED]->(:Tweet {id: $id}) RETURN count(l) AS n", id=raw_id)
    assert edges == 200
    keys = await cypher_count(
        neo4j, "MATCH (:User)-[l:LIKED]->(:Tweet {id: $id}) RETURN count(DISTINCT l.key) AS n", id=raw_id
    )
    assert keys == 200

    # The same 200 likes again, concurrently: idempotent, nothing added.
    again = await asyncio.gather(*(async_api.execute(LIKE, {"id": tweet_id}, liker.token) for liker in likers[:50]))
    assert not [body for body in again if "errors" in body]
    assert (await async_api.data(TWEET_COUNTS, {"id": tweet_id}))["tweet"]["likeCount"] == 200


async def test_one_user_liking_concurrently_likes_once(async_api: AsyncApi, neo4j: AsyncDriver, run_id: str) -> None:
    author, liker = await asyncio.gather(async_api.sign_up(), async_api.sign_up())
    tweet_id = await async_api.tweet(author, f"like me once {run_id}")
    bodies = await asyncio.gather(*(async_api.execute(LIKE, {"id": tweet_id}, liker.token) for _ in range(50)))
    assert not [body for body in bodies if "errors" in body], bodies[:3]
    raw_id = from_global_id(tweet_id, "Tweet")
    edges = await cypher_count(neo4j, "MATCH (:User)-[l:LIKED]->(:Tweet {id: $id}) RETURN count(l) AS n", id=raw_id)
    assert edges == 1
    assert (await async_api.data(TWEET_COUNTS, {"id": tweet_id}))["tweet"]["likeCount"] == 1


async def test_concurrent_creates_with_one_idempotency_key_make_one_tweet(
    async_api: AsyncApi, neo4j: AsyncDriver, run_id: str
) -> None:
    author = await async_api.sign_up()
    text = f"exactly once {run_id}"
    variables = {"input": {"text": text, "idempotencyKey": f"key-{run_id}"}}
    bodies = await asyncio.gather(*(async_api.execute(CREATE_TWEET, variables, author.token) for _ in range(100)))
    failures = [body for body in bodies if "errors" in body]
    assert not failures, failures[:3]
    ids = {body["data"]["createTweet"]["id"] for body in bodies}
    assert len(ids) == 1, ids
    assert all(body["data"]["createTweet"]["text"] == text for body in bodies)

    tweets = await cypher_count(neo4j, "MATCH (t:Tweet {text: $text}) RETURN count(t) AS n", text=text)
    assert tweets == 1
    (tweet_id,) = ids
    raw_id = from_global_id(tweet_id, "Tweet")
    posted = await cypher_count(
        neo4j,
        "MATCH (:User)-[:POSTED]->(t:Tweet {text: $text}) WHERE t.id = $id RETURN count(t) AS n",
        text=text,
        id=raw_id,
    )
    assert posted == 1
    count = await async_api.data("query($h: String!) { user(handle: $h) { tweetCount } }", {"h": author.handle})
    assert count["user"]["tweetCount"] == 1

    # A later retry still returns the same tweet; another key makes another one.
    assert await async_api.tweet(author, text, idempotencyKey=f"key-{run_id}") == tweet_id
    assert await async_api.tweet(author, text, idempotencyKey=f"other-{run_id}") != tweet_id


async def test_same_key_by_two_authors_makes_two_tweets(async_api: AsyncApi, neo4j: AsyncDriver, run_id: str) -> None:
    """Idempotency keys are per author."""
    first, second = await asyncio.gather(async_api.sign_up(), async_api.sign_up())
    text = f"shared key {run_id}"
    key = f"shared-{run_id}"
    calls = [async_api.tweet(author, text, idempotencyKey=key) for author in [first, second] * 10]
    ids = await asyncio.gather(*calls)
    assert len(set(ids[0::2])) == 1
    assert len(set(ids[1::2])) == 1
    assert ids[0] != ids[1]
    assert await cypher_count(neo4j, "MATCH (t:Tweet {text: $text}) RETURN count(t) AS n", text=text) == 2


async def test_fifty_concurrent_follows_make_one_edge(async_api: AsyncApi, neo4j: AsyncDriver) -> None:
    fan, idol = await asyncio.gather(async_api.sign_up(), async_api.sign_up())
    bodies = await asyncio.gather(*(async_api.execute(FOLLOW, {"id": idol.id}, fan.token) for _ in range(50)))
    failures = [body for body in bodies if "errors" in body]
    assert not failures, failures[:3]
    assert all(body["data"]["follow"] == {"id": idol.id, "viewerFollows": True} for body in bodies)

    fan_id, idol_id = from_global_id(fan.id, "User"), from_global_id(idol.id, "User")
    edges = await cypher_count(
        neo4j,
        "MATCH (:User {id: $fan})-[f:FOLLOWS]->(:User {id: $idol}) RETURN count(f) AS n",
        fan=fan_id,
        idol=idol_id,
    )
    assert edges == 1
    counts = await async_api.data(
        "query($h: String!) { user(handle: $h) { followerCount followers(first: 100) { edges { node { id } } } } }",
        {"h": idol.handle},
    )
    assert counts["user"]["followerCount"] == 1
    assert [edge["node"]["id"] for edge in counts["user"]["followers"]["edges"]] == [fan.id]


async def test_concurrent_retweets_by_one_user_make_one_retweet(
    async_api: AsyncApi, neo4j: AsyncDriver, run_id: str
) -> None:
    author, fan = await asyncio.gather(async_api.sign_up(), async_api.sign_up())
    tweet_id = await async_api.tweet(author, f"retweet me once {run_id}")
    bodies = await asyncio.gather(*(async_api.execute(RETWEET, {"id": tweet_id}, fan.token) for _ in range(50)))
    failures = [body for body in bodies if "errors" in body]
    assert not failures, failures[:3]
    ids = {body["data"]["retweet"]["id"] for body in bodies}
    assert len(ids) == 1, ids
    assert all(body["data"]["retweet"]["retweetOf"] == {"id": tweet_id} for body in bodies)
    raw_id = from_global_id(tweet_id, "Tweet")
    retweets = await cypher_count(
        neo4j, "MATCH (r:Tweet)-[:RETWEET_OF]->(:Tweet {id: $id}) RETURN count(r) AS n", id=raw_id
    )
    assert retweets == 1
    assert (await async_api.data(TWEET_COUNTS, {"id": tweet_id}))["tweet"]["retweetCount"] == 1
