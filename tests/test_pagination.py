"""Relay pagination through every connection: order, page sizes, cursors, and stability under concurrent writes.

Each scenario builds its own users, so the expected contents of a connection are known exactly.
Ids are time-ordered, so "newest first" is the reverse of the order in which the test made things.
"""

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from tests.conftest import Account, Api, forget_prefix, isolated_settings

Connection = dict[str, Any]
Fetch = Callable[[int | None, str | None], Connection]

SELECTION = "edges { cursor node { id } } pageInfo { hasNextPage endCursor }"

HOME_TIMELINE = f"query($first: Int, $after: String) {{ homeTimeline(first: $first, after: $after) {{ {SELECTION} }} }}"
REPLIES = (
    "query($id: ID!, $first: Int, $after: String) "
    f"{{ tweet(id: $id) {{ replies(first: $first, after: $after) {{ {SELECTION} }} }} }}"
)


def user_connection(api: Api, handle: str, field: str) -> Fetch:
    query = (
        "query($handle: String!, $first: Int, $after: String) "
        f"{{ user(handle: $handle) {{ {field}(first: $first, after: $after) {{ {SELECTION} }} }} }}"
    )

    def fetch(first: int | None, after: str | None) -> Connection:
        data = api.data(query, {"handle": handle, "first": first, "after": after})
        assert data["user"] is not None, handle
        connection: Connection = data["user"][field]
        return connection

    return fetch


def replies_connection(api: Api, tweet_id: str) -> Fetch:
    def fetch(first: int | None, after: str | None) -> Connection:
        data = api.data(REPLIES, {"id": tweet_id, "first": first, "after": after})
        assert data["tweet"] is not None, tweet_id
        connection: Connection = data["tweet"]["replies"]
        return connection

    return fetch


def home_connection(api: Api, viewer: Account) -> Fetch:
    def fetch(first: int | None, after: str | None) -> Connection:
        connection: Connection = api.data(HOME_TIMELINE, {"first": first, "after": after}, viewer.token)["homeTimeline"]
        return connection

    return fetch


def node_ids(connection: Connection) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def check_cursors(connection: Connection) -> None:
    """Every edge has an opaque cursor of its own, and the page's endCursor is its last edge's."""
    edges = connection["edges"]
    cursors = [edge["cursor"] for edge in edges]
    assert len(set(cursors)) == len(cursors), cursors
    for edge in edges:
        assert isinstance(edge["cursor"], str)
        assert edge["cursor"]
        assert edge["cursor"] != edge["node"]["id"], "a cursor must be opaque, not the node id"
    if edges:
        assert connection["pageInfo"]["endCursor"] == edges[-1]["cursor"]


def collect_pages(fetch: Fetch, first: int, between: Callable[[int], None] | None = None) -> list[list[str]]:
    """Pages from the start to the end, following endCursor; `between(n)` runs after page n is fetched."""
    pages: list[list[str]] = []
    after: str | None = None
    for number in range(1, 100):
        connection = fetch(first, after)
        check_cursors(connection)
        ids = node_ids(connection)
        assert len(ids) <= first, ids
        pages.append(ids)
        info = connection["pageInfo"]
        if not info["hasNextPage"]:
            return pages
        assert ids, "a page with a next page must not be empty"
        after = info["endCursor"]
        if between is not None:
            between(number)
    raise AssertionError(f"pagination did not end: {pages}")


def expected_sizes(total: int, first: int) -> list[int]:
    sizes = [first] * (total // first)
    if total % first:
        sizes.append(total % first)
    return sizes or [0]


def assert_pages(pages: list[list[str]], expected: list[str], first: int) -> None:
    flat = [node_id for page in pages for node_id in page]
    assert len(flat) == len(set(flat)), f"duplicates across pages: {pages}"
    assert flat == expected, f"pages {pages} != expected {expected}"
    assert [len(page) for page in pages] == expected_sizes(len(expected), first)


def like(api: Api, account: Account, tweet_id: str) -> None:
    api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": tweet_id}, account.token)


def retweet(api: Api, account: Account, tweet_id: str) -> str:
    data = api.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": tweet_id}, account.token)
    retweet_id: str = data["retweet"]["id"]
    return retweet_id


@dataclass(frozen=True)
class Scenario:
    fetch: Fetch
    expected: list[str]


# A follow or like order that differs from the order of sign-up or posting, so the connection
# must be ordered by when the edge was made, not by the id of what it points to.
SHUFFLE = [3, 0, 6, 1, 5, 2, 4]


def build_user_tweets(api: Api, run_id: str) -> tuple[Account, list[str]]:
    """The author's tweets, a reply and a retweet, in the order made."""
    author, other = api.sign_up(), api.sign_up()
    theirs = api.tweet(other, f"theirs {run_id}")
    made = [
        api.tweet(author, f"one {run_id}"),
        api.tweet(author, f"two {run_id}"),
        api.tweet(author, f"reply {run_id}", inReplyToId=theirs),
        api.tweet(author, f"three {run_id}"),
        retweet(api, author, theirs),
        api.tweet(author, f"four {run_id}"),
        api.tweet(author, f"five {run_id}"),
    ]
    return author, made


def user_tweets_scenario(api: Api, run_id: str) -> Scenario:
    """Newest first."""
    author, made = build_user_tweets(api, run_id)
    return Scenario(user_connection(api, author.handle, "tweets"), made[::-1])


def followers_scenario(api: Api, run_id: str) -> Scenario:
    """Newest follow first."""
    target = api.sign_up()
    fans = [api.sign_up() for _ in SHUFFLE]
    order = [fans[index] for index in SHUFFLE]
    for fan in order:
        api.follow(fan, target)
    return Scenario(user_connection(api, target.handle, "followers"), [fan.id for fan in reversed(order)])


def following_scenario(api: Api, run_id: str) -> Scenario:
    """Newest follow first."""
    fan = api.sign_up()
    idols = [api.sign_up() for _ in SHUFFLE]
    order = [idols[index] for index in SHUFFLE]
    for idol in order:
        api.follow(fan, idol)
    return Scenario(user_connection(api, fan.handle, "following"), [idol.id for idol in reversed(order)])


def likes_scenario(api: Api, run_id: str) -> Scenario:
    """Most recently liked first, whatever the age of the tweets."""
    author, liker = api.sign_up(), api.sign_up()
    tweets = [api.tweet(author, f"likeable {index} {run_id}") for index in range(len(SHUFFLE))]
    order = [tweets[index] for index in SHUFFLE]
    for tweet_id in order:
        like(api, liker, tweet_id)
    return Scenario(user_connection(api, liker.handle, "likes"), order[::-1])


def replies_scenario(api: Api, run_id: str) -> Scenario:
    """Oldest first; a reply to a retweet of the tweet answers the tweet itself."""
    author, first_fan, second_fan = api.sign_up(), api.sign_up(), api.sign_up()
    root = api.tweet(author, f"root {run_id}")
    via_retweet = retweet(api, first_fan, root)
    repliers = [first_fan, second_fan, author, second_fan, first_fan, author, second_fan]
    made = [
        api.tweet(replier, f"reply {index} {run_id}", inReplyToId=via_retweet if index == 3 else root)
        for index, replier in enumerate(repliers)
    ]
    return Scenario(replies_connection(api, root), made)


@dataclass(frozen=True)
class Home:
    viewer: Account
    followees: tuple[Account, Account]
    stranger: Account
    expected: list[str]
    hidden: dict[str, str]


def build_home(api: Api, run_id: str) -> Home:
    """The viewer follows a and b, not c. Returns what the timeline shows, newest first, and what it must not."""
    viewer, a, b, c = api.sign_up(), api.sign_up(), api.sign_up(), api.sign_up()
    api.follow(viewer, a)
    api.follow(viewer, b)
    shown: list[str] = []
    hidden: dict[str, str] = {}
    hidden["stranger's tweet"] = c1 = api.tweet(c, f"c1 {run_id}")
    shown.append(a1 := api.tweet(a, f"a1 {run_id}"))
    shown.append(v1 := api.tweet(viewer, f"v1 {run_id}"))
    shown.append(b1 := api.tweet(b, f"b1 {run_id}"))
    hidden["a's retweet of b's tweet already shown"] = retweet(api, a, b1)
    hidden["a's reply to the stranger"] = api.tweet(a, f"a answers c {run_id}", inReplyToId=c1)
    shown.append(api.tweet(b, f"b answers a {run_id}", inReplyToId=a1))
    shown.append(retweet(api, a, c1))
    hidden["b's retweet of c's tweet a retweeted first"] = retweet(api, b, c1)
    shown.append(api.tweet(viewer, f"v2 {run_id}"))
    hidden["a's retweet of the viewer's own tweet"] = retweet(api, a, v1)
    hidden["the viewer's retweet of a's tweet"] = retweet(api, viewer, a1)
    shown.append(api.tweet(a, f"a2 {run_id}"))
    shown.append(api.tweet(viewer, f"viewer answers c {run_id}", inReplyToId=c1))
    hidden["the stranger's reply to the viewer"] = api.tweet(c, f"c answers v {run_id}", inReplyToId=v1)
    shown.append(api.tweet(b, f"b2 {run_id}"))
    shown.append(api.tweet(b, f"b3 {run_id}"))
    return Home(viewer=viewer, followees=(a, b), stranger=c, expected=shown[::-1], hidden=hidden)


def home_scenario(api: Api, run_id: str) -> Scenario:
    home = build_home(api, run_id)
    return Scenario(home_connection(api, home.viewer), home.expected)


SCENARIOS: dict[str, Callable[[Api, str], Scenario]] = {
    "user_tweets": user_tweets_scenario,
    "followers": followers_scenario,
    "following": following_scenario,
    "likes": likes_scenario,
    "replies": replies_scenario,
    "home_timeline": home_scenario,
}


@pytest.fixture(scope="module")
def shared_api() -> Iterator[Api]:
    """One app for the read-only scenario tests, so each scenario is built once per module."""
    settings = isolated_settings()
    with TestClient(create_app(settings)) as client:
        yield Api(client)
    asyncio.run(forget_prefix(settings))


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(request: pytest.FixtureRequest, shared_api: Api) -> Scenario:
    """Tests taking a scenario only read it."""
    build: Callable[[Api, str], Scenario] = SCENARIOS[request.param]
    return build(shared_api, uuid.uuid4().hex[:12])


def test_scenarios_have_several_pages(scenario: Scenario) -> None:
    assert len(scenario.expected) >= 7
    assert len(set(scenario.expected)) == len(scenario.expected)


def test_pages_concatenate_to_the_whole_in_order(scenario: Scenario) -> None:
    pages = collect_pages(scenario.fetch, 3)
    assert_pages(pages, scenario.expected, 3)
    assert len(pages) >= 3


@pytest.mark.parametrize("first", [1, 2, 4, 7, 100])
def test_other_page_sizes_give_the_same_order(api: Api, run_id: str, first: int) -> None:
    scenario = user_tweets_scenario(api, run_id)
    assert_pages(collect_pages(scenario.fetch, first), scenario.expected, first)


def test_one_page_holds_everything(scenario: Scenario) -> None:
    connection = scenario.fetch(100, None)
    check_cursors(connection)
    assert node_ids(connection) == scenario.expected
    assert connection["pageInfo"]["hasNextPage"] is False


def test_default_page_size_is_enough_here(scenario: Scenario) -> None:
    connection = scenario.fetch(None, None)
    assert node_ids(connection) == scenario.expected
    assert connection["pageInfo"]["hasNextPage"] is False


def test_first_zero_returns_no_edges(scenario: Scenario) -> None:
    connection = scenario.fetch(0, None)
    assert connection["edges"] == []
    after_first = scenario.fetch(1, None)["pageInfo"]["endCursor"]
    assert scenario.fetch(0, after_first)["edges"] == []


def test_every_edge_cursor_resumes_right_after_its_edge(scenario: Scenario) -> None:
    whole = scenario.fetch(100, None)
    edges = whole["edges"]
    for index, edge in enumerate(edges):
        rest = scenario.fetch(100, edge["cursor"])
        assert node_ids(rest) == scenario.expected[index + 1 :], f"after edge {index}"
        assert rest["pageInfo"]["hasNextPage"] is False


def test_last_page_end_cursor_leads_nowhere(scenario: Scenario) -> None:
    whole = scenario.fetch(100, None)
    end_cursor = whole["pageInfo"]["endCursor"]
    assert end_cursor == whole["edges"][-1]["cursor"]
    beyond = scenario.fetch(3, end_cursor)
    assert beyond["edges"] == []
    assert beyond["pageInfo"]["hasNextPage"] is False


def test_empty_connection(api: Api) -> None:
    loner = api.sign_up()
    for field in ("tweets", "followers", "following", "likes"):
        connection = user_connection(api, loner.handle, field)(3, None)
        assert connection["edges"] == [], field
        assert connection["pageInfo"]["hasNextPage"] is False, field
    timeline = home_connection(api, loner)(3, None)
    assert timeline["edges"] == []
    assert timeline["pageInfo"]["hasNextPage"] is False


def test_home_timeline_contents(api: Api, run_id: str) -> None:
    """Own tweets and followees' are in; a second retweet of a shown tweet and replies to strangers are not."""
    home = build_home(api, run_id)
    ids = node_ids(home_connection(api, home.viewer)(100, None))
    assert len(ids) == len(set(ids)), "a tweet shows once in the home timeline"
    for reason, hidden_id in home.hidden.items():
        assert hidden_id not in ids, reason
    assert ids == home.expected


def test_user_tweets_pages_stay_put_while_new_tweets_arrive(api: Api, run_id: str) -> None:
    """Tweets posted between page fetches are newer than the cursor: no page repeats or skips an older one."""
    author, made = build_user_tweets(api, run_id)
    fetch = user_connection(api, author.handle, "tweets")
    newer: list[str] = []

    def post_more(page: int) -> None:
        newer.append(api.tweet(author, f"newer {page} {run_id}"))
        newer.append(api.tweet(author, f"newer reply {page} {run_id}", inReplyToId=made[0]))

    pages = collect_pages(fetch, 3, post_more)
    assert_pages(pages, made[::-1], 3)
    assert len(newer) == 4
    assert not set(newer) & {node_id for page in pages for node_id in page}
    # A fresh start sees the new tweets on top.
    assert node_ids(fetch(100, None)) == newer[::-1] + made[::-1]


def test_home_timeline_pages_stay_put_while_new_tweets_arrive(api: Api, run_id: str) -> None:
    home = build_home(api, run_id)
    fetch = home_connection(api, home.viewer)
    a, b = home.followees
    old_shown = home.expected
    newer: list[str] = []

    def post_more(page: int) -> None:
        newer.append(api.tweet(a, f"a newer {page} {run_id}"))
        newer.append(api.tweet(home.viewer, f"viewer newer {page} {run_id}"))
        newer.append(api.tweet(b, f"b answers a newer {page} {run_id}", inReplyToId=old_shown[-1]))
        # A retweet of a tweet that is on a later page: the tweet stays where it was.
        newer.append(retweet(api, b, old_shown[-2]))
        api.tweet(home.stranger, f"stranger newer {page} {run_id}")

    pages = collect_pages(fetch, 3, post_more)
    assert_pages(pages, old_shown, 3)
    assert len(pages) == 4
    seen = {node_id for page in pages for node_id in page}
    assert not set(newer) & seen
    fresh = node_ids(fetch(100, None))
    assert len(fresh) == len(set(fresh))
    assert fresh[-len(old_shown) :] == old_shown


@pytest.mark.parametrize("first", [-1, "max+1"])
def test_first_out_of_bounds_is_bad_input(api: Api, settings: Settings, first: int | str) -> None:
    author = api.sign_up()
    api.tweet(author, "something")
    value = settings.max_page_size + 1 if first == "max+1" else first
    query = (
        "query($handle: String!, $first: Int) "
        f"{{ user(handle: $handle) {{ tweets(first: $first) {{ {SELECTION} }} }} }}"
    )
    assert api.error_code(query, {"handle": author.handle, "first": value}) == "BAD_USER_INPUT"
    timeline = f"query($first: Int) {{ homeTimeline(first: $first) {{ {SELECTION} }} }}"
    assert api.error_code(timeline, {"first": value}, author.token) == "BAD_USER_INPUT"


def test_first_at_maximum_is_allowed(api: Api, settings: Settings) -> None:
    author = api.sign_up()
    api.tweet(author, "something")
    assert len(user_connection(api, author.handle, "tweets")(settings.max_page_size, None)["edges"]) == 1


@pytest.mark.parametrize("cursor", ["not a cursor", "", "VHdlZXQ6MQ", "Y3Vyc29yOmFiYw"])
def test_malformed_cursor_is_bad_input(api: Api, cursor: str) -> None:
    """Garbage, an empty string, a node id ("Tweet:1") and "cursor:abc" are not cursors."""
    author = api.sign_up()
    api.tweet(author, "something")
    query = (
        "query($handle: String!, $after: String) "
        f"{{ user(handle: $handle) {{ tweets(first: 3, after: $after) {{ {SELECTION} }} }} }}"
    )
    assert api.error_code(query, {"handle": author.handle, "after": cursor}) == "BAD_USER_INPUT"


def test_cursor_survives_deletion_of_its_own_edge(api: Api, run_id: str) -> None:
    """Cursors are keys, not offsets: deleting the tweet a cursor points at, or one before it, skips nothing."""
    author = api.sign_up()
    made = [api.tweet(author, f"tweet {index} {run_id}") for index in range(7)]
    fetch = user_connection(api, author.handle, "tweets")
    first_page = fetch(3, None)
    assert node_ids(first_page) == [made[6], made[5], made[4]]
    for doomed in (made[4], made[6]):
        deleted = api.data("mutation($id: ID!) { deleteTweet(id: $id) { deleted } }", {"id": doomed}, author.token)
        assert deleted["deleteTweet"]["deleted"] is True
    rest = fetch(100, first_page["pageInfo"]["endCursor"])
    assert node_ids(rest) == [made[3], made[2], made[1], made[0]]
