"""Notifications: created by the fan-out worker from events, one per recipient, kind, actor and tweet."""

from typing import Any

from settings import Settings
from tests.conftest import Account, Api, drain

NOTIFICATIONS = """query($first: Int, $after: String) {
  notifications(first: $first, after: $after) {
    unreadCount
    edges { cursor node { id kind read actor { handle } tweet { id text } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
LIKE = "mutation($id: ID!) { like(tweetId: $id) { id } }"
UNLIKE = "mutation($id: ID!) { unlike(tweetId: $id) { id } }"
RETWEET = "mutation($id: ID!) { retweet(tweetId: $id) { id } }"
MARK_READ = "mutation($upTo: ID) { markNotificationsRead(upToId: $upTo) }"


def notifications(api: Api, account: Account, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.data(NOTIFICATIONS, variables, account.token)["notifications"]
    return result


def seen(api: Api, account: Account) -> list[tuple[str, str, str | None]]:
    """(kind, actor, tweet text) of each notification, newest first."""
    return [
        (node["kind"], node["actor"]["handle"], node["tweet"] and node["tweet"]["text"])
        for node in (edge["node"] for edge in notifications(api, account)["edges"])
    ]


def test_each_kind_reaches_its_recipient(api: Api, settings: Settings) -> None:
    alice, bob = api.sign_up(), api.sign_up()
    api.follow(bob, alice)
    tweet = api.tweet(alice, "a tweet by alice")
    api.data(LIKE, {"id": tweet}, bob.token)
    api.data(RETWEET, {"id": tweet}, bob.token)
    api.tweet(bob, "a reply", inReplyToId=tweet)
    api.tweet(bob, f"hello @{alice.handle}")
    assert seen(api, alice) == []  # nothing in the request path: the worker makes them
    drain(settings)
    assert seen(api, alice) == [
        ("MENTION", bob.handle, f"hello @{alice.handle}"),
        ("REPLY", bob.handle, "a reply"),
        ("RETWEET", bob.handle, "a tweet by alice"),
        ("LIKE", bob.handle, "a tweet by alice"),
        ("FOLLOW", bob.handle, None),
    ]
    assert seen(api, bob) == []


def test_none_for_your_own_actions(api: Api, settings: Settings) -> None:
    alice = api.sign_up()
    tweet = api.tweet(alice, f"me, @{alice.handle}")
    api.data(LIKE, {"id": tweet}, alice.token)
    api.data(RETWEET, {"id": tweet}, alice.token)
    api.tweet(alice, "replying to myself", inReplyToId=tweet)
    drain(settings)
    assert seen(api, alice) == []


def test_like_unlike_like_notifies_once(api: Api, settings: Settings) -> None:
    alice, bob = api.sign_up(), api.sign_up()
    tweet = api.tweet(alice, "like me")
    for mutation in (LIKE, UNLIKE, LIKE, UNLIKE, LIKE):
        api.data(mutation, {"id": tweet}, bob.token)
        drain(settings)
    follow_again = "mutation($id: ID!) { unfollow(userId: $id) { id } }"
    api.follow(bob, alice)
    api.data(follow_again, {"id": alice.id}, bob.token)
    api.follow(bob, alice)
    drain(settings)
    drain(settings)  # handling everything again changes nothing
    assert seen(api, alice) == [("FOLLOW", bob.handle, None), ("LIKE", bob.handle, "like me")]


def test_unread_count_and_mark_read(api: Api, settings: Settings) -> None:
    alice = api.sign_up()
    fans = [api.sign_up() for _ in range(3)]
    for fan in fans:
        api.follow(fan, alice)
    drain(settings)
    page = notifications(api, alice)
    assert page["unreadCount"] == 3
    assert [edge["node"]["read"] for edge in page["edges"]] == [False] * 3
    oldest_two = page["edges"][1]["node"]["id"]
    assert api.data(MARK_READ, {"upTo": oldest_two}, alice.token)["markNotificationsRead"] == 2
    page = notifications(api, alice)
    assert page["unreadCount"] == 1
    assert [edge["node"]["read"] for edge in page["edges"]] == [False, True, True]
    assert api.data(MARK_READ, {}, alice.token)["markNotificationsRead"] == 1
    assert notifications(api, alice)["unreadCount"] == 0
    assert api.data(MARK_READ, {}, alice.token)["markNotificationsRead"] == 0


def test_notifications_page_and_belong_to_their_recipient(api: Api, settings: Settings) -> None:
    alice, mallory = api.sign_up(), api.sign_up()
    for _ in range(3):
        api.follow(api.sign_up(), alice)
    drain(settings)
    first = notifications(api, alice, first=2)
    assert len(first["edges"]) == 2
    assert first["pageInfo"]["hasNextPage"]
    rest = notifications(api, alice, first=2, after=first["pageInfo"]["endCursor"])
    assert len(rest["edges"]) == 1
    assert not rest["pageInfo"]["hasNextPage"]
    some = first["edges"][0]["node"]["id"]
    query = "query($id: ID!) { node(id: $id) { id } }"
    assert api.data(query, {"id": some}, alice.token)["node"] == {"id": some}
    assert api.data(query, {"id": some}, mallory.token)["node"] is None
    assert api.error_code(NOTIFICATIONS, {}) == "UNAUTHENTICATED"


def test_a_deleted_tweet_takes_its_notifications_along(api: Api, settings: Settings) -> None:
    alice, bob = api.sign_up(), api.sign_up()
    tweet = api.tweet(alice, "soon gone")
    api.data(LIKE, {"id": tweet}, bob.token)
    drain(settings)
    assert notifications(api, alice)["unreadCount"] == 1
    api.data("mutation($id: ID!) { deleteTweet(id: $id) { deleted } }", {"id": tweet}, alice.token)
    assert notifications(api, alice) == {
        "unreadCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
