"""Rate limits in Redis, tried as an attacker would: password guessing, sign-up floods, request
floods and action floods, each refused with RATE_LIMITED (429 when that is all the answer is),
Retry-After and the IETF RateLimit headers."""

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app import create_app
from settings import Budget, Settings
from tests.conftest import Api, RedisProcess

LOG_IN = "mutation($input: LogInInput!) { logIn(input: $input) { token } }"
RATE_LIMIT = "{ rateLimit { cost limit remaining resetAt windowSeconds } }"


PROXY = ("10.0.0.1", 40_000)  # the load balancer every client of these tests comes through


def behind_proxy(settings: Settings, **update: Any) -> TestClient:
    """The app behind a trusted proxy, which tells each client's address in X-Forwarded-For."""
    return TestClient(
        create_app(settings.model_copy(update={"trusted_proxies": ("10.0.0.0/8",), **update})), client=PROXY
    )


def from_address(client: TestClient, address: str) -> Api:
    """A client of the app at `address`, as the proxy forwards it."""
    return Api(client, {"X-Forwarded-For": address})


def log_in(api: Api, handle: str, password: str) -> Any:
    return api.post(LOG_IN, {"input": {"handle": handle, "password": password}})


def code_of(response: Any) -> str | None:
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    with behind_proxy(settings, budget_failed_logins=Budget(10, 900)) as client:
        yield client


def test_sixty_wrong_passwords_are_limited_while_the_owner_still_logs_in(limited: TestClient) -> None:
    owner_api, attacker = from_address(limited, "198.51.100.7"), from_address(limited, "203.0.113.9")
    owner = owner_api.sign_up()
    codes = [code_of(log_in(attacker, owner.handle, f"guess {index}")) for index in range(60)]
    assert codes == ["UNAUTHENTICATED"] * 10 + ["RATE_LIMITED"] * 50
    refused = log_in(attacker, owner.handle, "correct horse")  # even the right password, from there
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["errors"][0]["extensions"]["retryAfter"] == int(refused.headers["Retry-After"])
    assert log_in(owner_api, owner.handle, "correct horse").json()["data"]["logIn"]["token"]


def test_a_right_password_gives_back_what_the_attempt_spent(limited: TestClient) -> None:
    api = from_address(limited, "198.51.100.8")
    owner = api.sign_up()
    for _ in range(30):
        assert code_of(log_in(api, owner.handle, "correct horse")) is None
    assert code_of(log_in(api, owner.handle, "wrong password")) == "UNAUTHENTICATED"


def test_the_ip_budget_covers_every_handle(settings: Settings) -> None:
    with behind_proxy(settings, budget_failed_logins_ip=Budget(5, 300)) as client:
        attacker = from_address(client, "203.0.113.10")
        codes = [code_of(log_in(attacker, f"user{index}", "guess one")) for index in range(7)]
        assert codes == ["UNAUTHENTICATED"] * 5 + ["RATE_LIMITED"] * 2


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(settings: Settings) -> None:
    """Behind the proxy, the client is the hop the proxy added (whatever a client wrote to its
    left); a client that is no proxy cannot choose its address with the header."""
    with behind_proxy(settings, budget_failed_logins_ip=Budget(2, 300)) as client:
        proxied = from_address(client, "203.0.113.1")
        for _ in range(2):
            assert code_of(log_in(proxied, "nobody", "guess")) == "UNAUTHENTICATED"
        assert code_of(log_in(proxied, "nobody", "guess")) == "RATE_LIMITED"
        forged = from_address(client, "203.0.113.2, 203.0.113.1")
        assert code_of(log_in(forged, "nobody", "guess")) == "RATE_LIMITED"
    with TestClient(create_app(settings.model_copy(update={"budget_failed_logins_ip": Budget(2, 300)}))) as direct:
        codes = [code_of(log_in(from_address(direct, f"198.51.100.{index}"), "nobody", "guess")) for index in range(3)]
        assert codes == ["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]


def test_sign_ups_are_limited_per_address(settings: Settings) -> None:
    with behind_proxy(settings, budget_sign_ups=Budget(5, 1800)) as client:
        flood, elsewhere = from_address(client, "203.0.113.20"), from_address(client, "203.0.113.21")
        for _ in range(5):
            flood.sign_up()
        body = flood.execute(
            'mutation { signUp(input: {handle: "floodsix", displayName: "x", password: "correct horse"}) { token } }'
        )
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        elsewhere.sign_up()


def test_a_request_over_the_budget_is_429_with_headers(settings: Settings) -> None:
    budgets = {"budget_viewer": Budget(3, 300), "budget_anonymous": Budget(300, 300)}
    with TestClient(create_app(settings.model_copy(update=budgets))) as client:
        api = Api(client)
        viewer = api.sign_up()
        seen = [api.post(RATE_LIMIT, token=viewer.token) for _ in range(3)]
        assert [response.status_code for response in seen] == [200, 200, 200]
        assert [response.json()["data"]["rateLimit"]["remaining"] for response in seen] == [2, 1, 0]
        assert seen[0].headers["RateLimit-Policy"] == '"user";q=3;w=300'
        assert seen[2].headers["RateLimit"].startswith('"user";r=0;t=')
        refused = api.post(RATE_LIMIT, token=viewer.token)
        assert refused.status_code == 429
        assert 90 <= int(refused.headers["Retry-After"]) <= 100  # a point comes back every 100 s
        assert "data" not in refused.json()
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert refused.headers["RateLimit"].startswith('"user";r=0;')
        anonymous = api.post(RATE_LIMIT)  # a budget of its own, by address
        assert anonymous.status_code == 200
        assert anonymous.headers["RateLimit-Policy"].startswith('"ip";q=300;')


def test_a_costly_request_spends_more_points(api: Api) -> None:
    viewer = api.sign_up()
    cheap = api.data(RATE_LIMIT, token=viewer.token)["rateLimit"]
    page = "{ rateLimit { cost remaining } homeTimeline(first: 100) { edges { node { id author { handle } } } } }"
    costly = api.data(page, token=viewer.token)["rateLimit"]
    assert (cheap["cost"], costly["cost"]) == (1, 4)  # 301 of cost: a point per hundred, rounded up
    assert costly["remaining"] == cheap["remaining"] - 4
    assert cheap["limit"] == 1500
    assert cheap["windowSeconds"] == 300


def test_tweets_have_a_budget_and_a_refused_one_writes_nothing(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"budget_tweets": Budget(2, 3600)}))) as client:
        api = Api(client)
        author = api.sign_up()
        api.tweet(author, "one")
        api.tweet(author, "two")
        refused = api.post('mutation { createTweet(input: {text: "three"}) { id } }', token=author.token)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        count = api.data("query($h: String!) { user(handle: $h) { tweetCount } }", {"h": author.handle})
        assert count["user"]["tweetCount"] == 2


def test_follows_and_likes_have_budgets(settings: Settings) -> None:
    tight = settings.model_copy(update={"budget_follows": Budget(1, 3600), "budget_likes": Budget(1, 3600)})
    with TestClient(create_app(tight)) as client:
        api = Api(client)
        fan, first, second = api.sign_up(), api.sign_up(), api.sign_up()
        api.follow(fan, first)
        follow = "mutation($id: ID!) { follow(userId: $id) { id } }"
        assert api.error_code(follow, {"id": second.id}, fan.token) == "RATE_LIMITED"
        tweets = [api.tweet(first, "like me"), api.tweet(first, "and me")]
        like = "mutation($id: ID!) { like(tweetId: $id) { id } }"
        api.data(like, {"id": tweets[0]}, fan.token)
        assert api.error_code(like, {"id": tweets[1]}, fan.token) == "RATE_LIMITED"


def test_an_answer_with_data_stays_200(settings: Settings) -> None:
    """Only an answer that is nothing but rate-limited is 429: here the first tweet was written
    (though `data` is null: a failed non-null root field nulls it), so a retry is no blind repeat."""
    with TestClient(create_app(settings.model_copy(update={"budget_tweets": Budget(1, 3600)}))) as client:
        api = Api(client)
        author = api.sign_up()
        response = api.post(
            'mutation { a: createTweet(input: {text: "one"}) { text } b: createTweet(input: {text: "two"}) { text } }',
            token=author.token,
        )
        assert response.status_code == 200
        body = response.json()
        assert [(error["path"], error["extensions"]["code"]) for error in body["errors"]] == [(["b"], "RATE_LIMITED")]
        count = api.data("query($h: String!) { user(handle: $h) { tweetCount } }", {"h": author.handle})
        assert count["user"]["tweetCount"] == 1


def test_without_rate_limits_nothing_is_counted(settings: Settings) -> None:
    with TestClient(
        create_app(settings.model_copy(update={"rate_limits": False, "budget_viewer": Budget(1, 300)}))
    ) as client:
        api = Api(client)
        viewer = api.sign_up()
        for _ in range(3):
            assert api.data(RATE_LIMIT, token=viewer.token)["rateLimit"]["remaining"] == 1


def test_without_redis_reads_go_on_and_log_ins_wait(settings: Settings, own_redis: RedisProcess) -> None:
    """Fail open for requests (Neo4j answers them), closed for what guesses passwords."""
    own = settings.model_copy(update={"redis_port": own_redis.port, "budget_anonymous": Budget(300, 300)})
    with TestClient(create_app(own)) as client:
        api = Api(client)
        account = api.sign_up()
        own_redis.stop()
        assert api.data(RATE_LIMIT)["rateLimit"]["remaining"] == 300  # served, with its budget unspent
        unread = "{ notifications(first: 1) { unreadCount } }"
        assert api.data(unread, token=account.token)["notifications"]["unreadCount"] == 0
        body = log_in(api, account.handle, "correct horse").json()
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
