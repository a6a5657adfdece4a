"""Revoking tokens: logOut revokes the token used, changePassword every earlier one; both hold
across a Redis flush (Neo4j keeps them), and an open subscription on a revoked or expired token
is closed (4401)."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from starlette.testclient import TestClient
from websockets.exceptions import ConnectionClosed

from app import create_app
from settings import Settings
from tests.conftest import Account, Api, RedisProcess, forget_prefix, isolated_settings
from tests.processes import app_process
from tests.test_live import HOME, Subscriber, listening_subscriber

VIEWER = "{ viewer { handle } }"
LOG_OUT = "mutation { logOut }"
CHANGE = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { token user { handle } } }"
LOG_IN = "mutation($input: LogInInput!) { logIn(input: $input) { token } }"


def log_in(api: Api, account: Account, password: str = "correct horse") -> str:
    token: str = api.data(LOG_IN, {"input": {"handle": account.handle, "password": password}})["logIn"]["token"]
    return token


def change_password(api: Api, token: str, current: str, new: str) -> str:
    payload = api.data(CHANGE, {"input": {"currentPassword": current, "newPassword": new}}, token)
    token = payload["changePassword"]["token"]
    return token


def test_log_out_revokes_the_token_it_was_sent_with_and_no_other(api: Api) -> None:
    account = api.sign_up()
    other = log_in(api, account)
    assert api.data(LOG_OUT, token=account.token) == {"logOut": True}
    assert api.error_code(VIEWER, token=account.token) == "UNAUTHENTICATED"
    assert api.error_code(LOG_OUT, token=account.token) == "UNAUTHENTICATED"
    assert api.data(VIEWER, token=other)["viewer"]["handle"] == account.handle
    assert api.error_code(LOG_OUT) == "UNAUTHENTICATED"


def test_change_password_revokes_every_earlier_token(api: Api) -> None:
    account = api.sign_up()
    second = log_in(api, account)
    wrong = api.execute(
        CHANGE, {"input": {"currentPassword": "not it at all", "newPassword": "battery staple"}}, second
    )
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.data(VIEWER, token=second)["viewer"]["handle"] == account.handle  # nothing changed

    new_token = change_password(api, second, "correct horse", "battery staple")
    for old in (account.token, second):
        assert api.error_code(VIEWER, token=old) == "UNAUTHENTICATED"
    assert api.data(VIEWER, token=new_token)["viewer"]["handle"] == account.handle
    refused = api.execute(LOG_IN, {"input": {"handle": account.handle, "password": "correct horse"}})
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.data(VIEWER, token=log_in(api, account, "battery staple"))["viewer"]["handle"] == account.handle
    too_short = {"input": {"currentPassword": "battery staple", "newPassword": "short"}}
    assert api.error_code(CHANGE, too_short, new_token) == "BAD_USER_INPUT"


async def test_revocations_hold_after_redis_loses_them(api: Api, settings: Settings, redis: Redis) -> None:
    account = api.sign_up()
    kept = log_in(api, account)
    logged_out = log_in(api, account)
    api.data(LOG_OUT, token=logged_out)
    changed = log_in(api, account)
    newest = change_password(api, changed, "correct horse", "battery staple")
    await redis.delete(*[key async for key in redis.scan_iter(match=f"{settings.redis_prefix}tokens:*")])
    for revoked in (kept, logged_out, changed):
        assert api.error_code(VIEWER, token=revoked) == "UNAUTHENTICATED"
    assert api.data(VIEWER, token=newest)["viewer"]["handle"] == account.handle


def test_a_revoked_token_is_refused_while_redis_is_down(settings: Settings, own_redis: RedisProcess) -> None:
    """Without Redis, the token's standing is read from Neo4j: nothing revoked comes back."""
    with TestClient(create_app(settings.model_copy(update={"redis_port": own_redis.port}))) as client:
        api = Api(client)
        account = api.sign_up()
        api.data(LOG_OUT, token=account.token)
        fresh = log_in(api, account)
        own_redis.stop()
        unread = "{ notifications(first: 1) { unreadCount } }"  # from Neo4j alone
        assert api.error_code(unread, token=account.token) == "UNAUTHENTICATED"
        assert api.data(unread, token=fresh)["notifications"]["unreadCount"] == 0


@pytest.fixture
def short_lived() -> Iterator[Settings]:
    test_settings = isolated_settings(jwt_ttl_seconds=4)
    yield test_settings
    asyncio.run(forget_prefix(test_settings))


@pytest.fixture
def one_process(short_lived: Settings, tmp_path: Path) -> Iterator[str]:
    with app_process(short_lived, tmp_path / "app.log") as base_url:
        yield base_url


async def closed_with(live: Subscriber, seconds: float) -> int:
    """The code the server closed the subscription's socket with, within `seconds`."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(drain_until_closed(live), seconds)
    assert closed.value.rcvd is not None
    code: int = closed.value.rcvd.code
    return code


async def drain_until_closed(live: Subscriber) -> None:
    while True:
        await live.socket.recv()


async def test_an_open_subscription_closes_when_its_token_is_revoked(one_process: str) -> None:
    with httpx.Client(base_url=one_process, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]
        account = api.sign_up()
        live = await listening_subscriber(one_process, account.token, HOME)
        other = await listening_subscriber(one_process, log_in(api, account), HOME)
        api.data(LOG_OUT, token=account.token)
        assert await closed_with(live, 10) == 4401
        with pytest.raises(TimeoutError):  # the other token's subscription stays open
            await asyncio.wait_for(other.socket.recv(), 1)
        change_password(api, log_in(api, account), "correct horse", "battery staple")
        assert await closed_with(other, 10) == 4401


async def test_an_open_subscription_closes_when_its_token_expires(one_process: str) -> None:
    with httpx.Client(base_url=one_process, timeout=30) as client:
        account = Api(client).sign_up()  # type: ignore[arg-type]
    started = time.monotonic()
    live = await listening_subscriber(one_process, account.token, HOME)
    assert await closed_with(live, 15) == 4401
    assert time.monotonic() - started < 10
