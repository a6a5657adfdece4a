"""Subscriptions as clients use them: real uvicorn processes, real WebSockets, the real worker.

Posts go through one process and subscribers listen on another, so every update crosses Redis
pub/sub and the relay of the subscriber's own process.
"""

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from settings import Budget, Settings
from tests.conftest import Api, drain, forget_prefix, isolated_settings
from tests.processes import app_process, pid_of

HOME = "subscription { homeTimeline { cursor node { id text author { handle } } } }"
TWEET_UPDATED = "subscription($id: ID!) { tweetUpdated(id: $id) { id text likeCount } }"
NOTIFICATIONS = "subscription { notifications { kind actor { handle } tweet { id } } }"


class Subscriber:
    """One WebSocket speaking graphql-transport-ws (or the legacy graphql-ws)."""

    def __init__(self, socket: ClientConnection, protocol: str) -> None:
        self.socket = socket
        self.protocol = protocol

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None, operation: str = "1") -> None:
        kind = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.socket.send(json.dumps({"id": operation, "type": kind, "payload": payload}))

    async def message(self, seconds: float = 15) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), seconds))
        return message

    async def data(self, seconds: float = 15) -> dict[str, Any]:
        message = await self.message(seconds)
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def nothing(self, seconds: float = 1.0) -> None:
        """No message comes within `seconds`."""
        with pytest.raises(TimeoutError):
            await self.message(seconds)


async def subscriber(
    base_url: str, token: str | None, protocol: str = "graphql-transport-ws", stalled: bool = False
) -> Subscriber:
    """A connected, acknowledged client. A stalled one stops reading its socket after one frame,
    its kernel buffer is kept small (no autotuning up to tens of MB) and it asks for no compression:
    the server's sends to it soon wait."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    sock = None
    if stalled:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        host, port = base_url.removeprefix("http://").split(":")
        sock.connect((host, int(port)))
    connection = await connect(
        url,
        subprotocols=[protocol],  # type: ignore[list-item]
        max_queue=1 if stalled else None,
        compression=None if stalled else "deflate",  # compressed, its many identical fields would fit in no time
        # A client that stops reading stops seeing its pings answered: it would end its own connection.
        ping_interval=None if stalled else 20,
        sock=sock,
    )
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return Subscriber(connection, protocol)


async def listening_subscriber(
    base_url: str,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    protocol: str = "graphql-transport-ws",
) -> Subscriber:
    """A client subscribed with `query`, once the process relays to it (its only subscriber)."""
    live = await subscriber(base_url, token, protocol)
    await live.subscribe(query, variables)
    await listening(base_url, 1)
    return live


def error_code(message: dict[str, Any]) -> str:
    """The code of the one error a subscription ended with (sent in a `next`, as execution errors are)."""
    assert message["type"] == "next", message
    (error,) = message["payload"]["errors"]
    code: str = error["extensions"]["code"]
    return code


def metric(base_url: str, name: str) -> float:
    """A metric's value as one app process reports it (summed over its samples)."""
    families = text_string_to_metric_families(httpx.get(f"{base_url}/metrics/").text)
    return sum(sample.value for family in families if family.name == name for sample in family.samples)


async def listening(base_url: str, count: int) -> None:
    """Waits until the process relays to `count` live subscriptions: updates published from now
    on reach them."""
    for _ in range(200):
        if metric(base_url, "chirp_live_listeners") >= count:
            await asyncio.sleep(0.1)  # the SUBSCRIBE it sent is in Redis's hands by then
            return
        await asyncio.sleep(0.05)
    pytest.fail("the subscription never started")


@pytest.fixture
def live_settings() -> Iterator[Settings]:
    """Budgets and limits with room for the stalled subscriber's 1,000 tweets and 600-field updates."""
    test_settings = isolated_settings(
        celebrity_threshold=2,
        live_queue_size=64,
        max_query_aliases=1000,
        max_query_fields=1000,
        budget_tweets=Budget(10_000, 60),
        budget_viewer=Budget(100_000, 60),
    )
    yield test_settings
    asyncio.run(forget_prefix(test_settings))


@pytest.fixture
def two_processes(live_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Process A (subscribers) and process B (writers), sharing the stores and the key prefix.
    A waits 10 minutes for a pong: a client that stops reading stops answering pings too, and
    the stalled subscriber's queue, not uvicorn's 20 s keepalive, is what its test watches end it."""
    with (
        app_process(live_settings, tmp_path / "a.log", WORKER_ID="901", UVICORN_WS_PING_TIMEOUT="600") as a,
        app_process(live_settings, tmp_path / "b.log", WORKER_ID="902") as b,
    ):
        yield a, b


@pytest.fixture
def writer(two_processes: tuple[str, str]) -> Iterator[Api]:
    with httpx.Client(base_url=two_processes[1], timeout=30) as client:
        yield Api(client)  # type: ignore[arg-type]


async def run_worker(settings: Settings) -> None:
    """The fan-out worker, until idle (in a thread: it runs its own event loop)."""
    await asyncio.to_thread(drain, settings)


async def test_home_timeline_across_processes(
    two_processes: tuple[str, str], writer: Api, live_settings: Settings
) -> None:
    a, _ = two_processes
    alice, bob, carol, celebrity, fan, stranger = (writer.sign_up() for _ in range(6))
    for followee in (bob, carol, celebrity):
        writer.follow(alice, followee)
    writer.follow(fan, celebrity)  # two followers: a celebrity at this test's threshold
    await run_worker(live_settings)

    live = await listening_subscriber(a, alice.token, HOME)
    stranger_tweet = writer.tweet(stranger, "not followed")
    writer.tweet(bob, "one from bob")
    writer.tweet(celebrity, "one from the celebrity")
    writer.tweet(celebrity, "@x a reply alice must not see", inReplyToId=stranger_tweet)
    writer.tweet(carol, "one from carol")
    await run_worker(live_settings)
    writer.tweet(alice, "alice herself")  # published by the request itself, before any worker

    received = [(await live.data())["homeTimeline"]["node"] for _ in range(4)]
    assert [(node["author"]["handle"], node["text"]) for node in received] == [
        (bob.handle, "one from bob"),
        (celebrity.handle, "one from the celebrity"),
        (carol.handle, "one from carol"),
        (alice.handle, "alice herself"),
    ]
    await live.nothing()
    await live.socket.close()


async def test_retweets_of_what_is_there_and_deleted_tweets_do_not_arrive(
    two_processes: tuple[str, str], writer: Api, live_settings: Settings
) -> None:
    a, _ = two_processes
    alice, bob, carol = (writer.sign_up() for _ in range(3))
    writer.follow(alice, bob)
    writer.follow(alice, carol)
    await run_worker(live_settings)
    live = await listening_subscriber(a, alice.token, HOME)
    original = writer.tweet(bob, "said once")
    await run_worker(live_settings)
    assert (await live.data())["homeTimeline"]["node"]["id"] == original
    writer.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": original}, carol.token)
    gone = writer.tweet(bob, "deleted before the worker ran")
    writer.data("mutation($id: ID!) { deleteTweet(id: $id) { deleted } }", {"id": gone}, bob.token)
    writer.tweet(carol, "the next one")
    await run_worker(live_settings)
    assert (await live.data())["homeTimeline"]["node"]["text"] == "the next one"
    await live.nothing()
    await live.socket.close()


async def test_following_a_celebrity_while_subscribed(
    two_processes: tuple[str, str], writer: Api, live_settings: Settings
) -> None:
    a, _ = two_processes
    alice, celebrity, fan, other = (writer.sign_up() for _ in range(4))
    writer.follow(fan, celebrity)
    writer.follow(other, celebrity)
    await run_worker(live_settings)
    live = await listening_subscriber(a, alice.token, HOME)
    writer.follow(alice, celebrity)
    await run_worker(live_settings)  # the follow event tells alice's subscription to listen to the celebrity
    await asyncio.sleep(0.5)
    writer.tweet(celebrity, "now followed")
    await run_worker(live_settings)
    assert (await live.data())["homeTimeline"]["node"]["text"] == "now followed"
    await live.socket.close()


async def test_invalid_token_closes_the_connection(two_processes: tuple[str, str]) -> None:
    url = two_processes[0].replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nonsense"}}))
        with pytest.raises(ConnectionClosed) as closed_with:
            await asyncio.wait_for(socket.recv(), 10)
    assert closed_with.value.rcvd is not None
    assert closed_with.value.rcvd.code == 4403


async def test_invalid_token_over_the_legacy_protocol(two_processes: tuple[str, str]) -> None:
    url = two_processes[0].replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nonsense"}}))
        refusal = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert refusal["type"] == "connection_error"
        assert refusal["payload"]["extensions"]["code"] == "UNAUTHENTICATED"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 10)


async def test_anonymous_subscription_is_unauthenticated(two_processes: tuple[str, str]) -> None:
    live = await subscriber(two_processes[0], None)
    await live.subscribe(HOME)
    assert error_code(await live.message()) == "UNAUTHENTICATED"
    assert (await live.message())["type"] == "complete"
    await live.socket.close()


async def test_legacy_graphql_ws_protocol(two_processes: tuple[str, str], writer: Api) -> None:
    a, _ = two_processes
    alice = writer.sign_up()
    live = await listening_subscriber(a, alice.token, HOME, protocol="graphql-ws")
    writer.tweet(alice, "over the old protocol")
    assert (await live.data())["homeTimeline"]["node"]["text"] == "over the old protocol"
    await live.socket.close()


async def test_tweet_updated(two_processes: tuple[str, str], writer: Api) -> None:
    a, _ = two_processes
    alice, bob = writer.sign_up(), writer.sign_up()
    tweet_id = writer.tweet(alice, "first words")
    live = await listening_subscriber(a, bob.token, TWEET_UPDATED, {"id": tweet_id})
    writer.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": tweet_id}, bob.token)
    assert (await live.data())["tweetUpdated"] == {"id": tweet_id, "text": "first words", "likeCount": 1}
    edit = 'mutation($id: ID!) { editTweet(input: {id: $id, text: "better words"}) { id } }'
    writer.data(edit, {"id": tweet_id}, alice.token)
    assert (await live.data())["tweetUpdated"]["text"] == "better words"
    writer.data("mutation($id: ID!) { deleteTweet(id: $id) { deleted } }", {"id": tweet_id}, alice.token)
    assert (await live.message())["type"] == "complete"
    await live.socket.close()


async def test_notifications_subscription(two_processes: tuple[str, str], writer: Api, live_settings: Settings) -> None:
    a, _ = two_processes
    alice, bob = writer.sign_up(), writer.sign_up()
    live = await listening_subscriber(a, alice.token, NOTIFICATIONS)
    writer.follow(bob, alice)
    await run_worker(live_settings)
    assert (await live.data())["notifications"] == {"kind": "FOLLOW", "actor": {"handle": bob.handle}, "tweet": None}
    await live.socket.close()


async def test_a_stalled_subscriber_delays_nobody_and_costs_a_bounded_queue(
    two_processes: tuple[str, str], writer: Api, live_settings: Settings
) -> None:
    """The stalled client never reads (its socket's buffers fill, then the server's sends to it
    wait); the relay drops what overflows its queue of LIVE_QUEUE_SIZE and ends its subscription
    with SERVICE_UNAVAILABLE, while the reading client gets all 1,000 tweets in order."""
    a, _ = two_processes
    author, reader_account, staller_account = writer.sign_up(), writer.sign_up(), writer.sign_up()
    writer.follow(reader_account, author)
    writer.follow(staller_account, author)
    await run_worker(live_settings)

    reader = await subscriber(a, reader_account.token)
    staller = await subscriber(a, staller_account.token, stalled=True)
    await reader.subscribe(HOME)
    # About 11 KB an update: 1,000 of them overflow what the kernel's socket buffers absorb.
    fat = " ".join(f"t{i}: text" for i in range(600))
    await staller.subscribe(f"subscription {{ homeTimeline {{ node {{ {fat} }} }} }}")
    await listening(a, 2)
    rss_before = resident_kib(pid_of(a))

    texts = [f"tweet {index} {uuid.uuid4().hex[:6]}" for index in range(1000)]

    def post_all() -> None:
        for text in texts:
            writer.tweet(author, text)

    # Off this event loop: posting takes longer than the server's WebSocket keepalive allows a
    # client that does not answer its pings (the reader's socket lives on this loop).
    await asyncio.to_thread(post_all)
    worker = asyncio.create_task(run_worker(live_settings))
    received = [(await reader.data())["homeTimeline"]["node"]["text"] for _ in texts]
    await worker
    assert received == texts
    assert metric(a, "chirp_live_dropped") >= 1
    growth_mib = (resident_kib(pid_of(a)) - rss_before) / 1024
    assert growth_mib < 64, f"the app grew by {growth_mib:.0f} MiB"

    # Once it reads again, the stalled client gets what was queued for it, then the error.
    delivered = []
    while "errors" not in (message := await staller.message())["payload"]:
        delivered.append(message)
    assert error_code(message) == "SERVICE_UNAVAILABLE"
    assert (await staller.message())["type"] == "complete"
    assert 0 < len(delivered) < len(texts)
    await reader.socket.close()
    await staller.socket.close()


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")
