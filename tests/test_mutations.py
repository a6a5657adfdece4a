"""Every mutation through the HTTP API: success paths, idempotency, refusals that write nothing, deletion rules.

Each test signs up its own users, so tests are independent of each other and of earlier runs.
"Nothing was written" is checked through the API and, independently, against the graph itself.
"""

import base64
import json
import re
import time
from typing import Any

import jwt
import pytest
from neo4j import AsyncDriver

from tests.conftest import Account, Api, leaks

# --- helpers -------------------------------------------------------------------------------------------------------


def global_id(type_name: str, raw_id: int) -> str:
    """What the API's ids look like: base64url, without padding, of "Type:number"."""
    return base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("=")


def raw_id(gid: str) -> int:
    decoded = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
    _, _, number = decoded.partition(":")
    return int(number)


MISSING_USER_ID = global_id("User", 123)
MISSING_TWEET_ID = global_id("Tweet", 123)
MALFORMED_ID = "!!!"


def assert_no_leak(error: dict[str, Any]) -> None:
    shown = json.dumps({"message": error.get("message"), "extensions": error.get("extensions")})
    assert not leaks(shown), error


def refusal(api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
    """The single error of a request that must fail, checked for leaks."""
    body = api.execute(query, variables, token)
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    error: dict[str, Any] = errors[0]
    assert_no_leak(error)
    return error


def refused(api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> str:
    """The extensions.code of a request that must fail with exactly one error (and leak nothing)."""
    code: str = refusal(api, query, variables, token)["extensions"]["code"]
    return code


def used_variables(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Only the variables the query declares: GraphQL refuses unused ones."""
    return {name: value for name, value in variables.items() if re.search(rf"\${name}\b", query)}


async def snapshot(neo4j: AsyncDriver, *accounts: Account) -> list[str]:
    """The users' nodes and everything within two hops of them, as comparable text."""
    records, _, _ = await neo4j.execute_query(
        """
        MATCH (u:User) WHERE u.id IN $ids
        OPTIONAL MATCH (u)-[r1]-(a)
        OPTIONAL MATCH (a)-[r2]-(b)
        RETURN u {.*} AS u, type(r1) AS r1, properties(r1) AS p1, startNode(r1) = u AS out1, labels(a) AS la,
               a {.*} AS a, type(r2) AS r2, properties(r2) AS p2, labels(b) AS lb, b {.*} AS b
        """,
        ids=[raw_id(account.id) for account in accounts],
    )
    return sorted(repr(sorted(record.data().items())) for record in records)


async def tweets_with_text(neo4j: AsyncDriver, text: str) -> int:
    records, _, _ = await neo4j.execute_query("MATCH (t:Tweet {text: $text}) RETURN count(t) AS n", text=text)
    count: int = records[0]["n"]
    return count


async def posted_count(neo4j: AsyncDriver, account: Account) -> int:
    records, _, _ = await neo4j.execute_query(
        "MATCH (:User {id: $id})-[:POSTED]->(t:Tweet) RETURN count(t) AS n", id=raw_id(account.id)
    )
    count: int = records[0]["n"]
    return count


async def delete_node(neo4j: AsyncDriver, label: str, gid: str) -> None:
    assert label in {"User", "Tweet"}
    await neo4j.execute_query(f"MATCH (n:{label} {{id: $id}}) DETACH DELETE n", id=raw_id(gid))


TWEET_FIELDS = """
  id text editedAt hashtags likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted
  author { id handle tweetCount }
  mentions { id handle }
  retweetOf { id text retweetCount viewerHasRetweeted author { id } }
  inReplyTo { id replyCount }
"""
TWEET_QUERY = f"query($id: ID!) {{ tweet(id: $id) {{ {TWEET_FIELDS} }} }}"
USER_QUERY = """
query($handle: String!) {
  user(handle: $handle) {
    id handle displayName bio followerCount followingCount tweetCount viewerFollows followsViewer
    tweets(first: 100) { edges { node { id text retweetOf { id } } } }
  }
}
"""
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id handle displayName bio } } }"
LOG_IN = "mutation($input: LogInInput!) { logIn(input: $input) { token user { id handle } } }"
UPDATE_PROFILE = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id displayName bio } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id followerCount followingCount viewerFollows followsViewer } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { id followerCount viewerFollows } }"
CREATE = f"mutation($input: CreateTweetInput!) {{ createTweet(input: $input) {{ {TWEET_FIELDS} }} }}"
EDIT = f"mutation($input: EditTweetInput!) {{ editTweet(input: $input) {{ {TWEET_FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) { id deleted } }"
LIKE = f"mutation($id: ID!) {{ like(tweetId: $id) {{ {TWEET_FIELDS} }} }}"
UNLIKE = f"mutation($id: ID!) {{ unlike(tweetId: $id) {{ {TWEET_FIELDS} }} }}"
RETWEET = f"mutation($id: ID!) {{ retweet(tweetId: $id) {{ {TWEET_FIELDS} }} }}"
UNDO_RETWEET = f"mutation($id: ID!) {{ undoRetweet(tweetId: $id) {{ {TWEET_FIELDS} }} }}"
VIEWER = "query { viewer { id handle } }"


def get_tweet(api: Api, tweet_id: str, token: str | None = None) -> dict[str, Any] | None:
    tweet: dict[str, Any] | None = api.data(TWEET_QUERY, {"id": tweet_id}, token)["tweet"]
    return tweet


def get_user(api: Api, handle: str, token: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] | None = api.data(USER_QUERY, {"handle": handle}, token)["user"]
    assert user is not None, handle
    return user


def tweet_ids_of(api: Api, handle: str) -> list[str]:
    return [edge["node"]["id"] for edge in get_user(api, handle)["tweets"]["edges"]]


def mutate(api: Api, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    """The single root field of a mutation that must succeed."""
    data = api.data(query, variables, token)
    (value,) = data.values()
    result: dict[str, Any] = value
    return result


# --- success paths -------------------------------------------------------------------------------------------------


def test_sign_up_returns_token_and_user(api: Api, run_id: str) -> None:
    handle = f"u{run_id}ab"  # 15 characters: the longest handle
    assert len(handle) == 15
    payload = mutate(
        api, SIGN_UP, {"input": {"handle": handle, "displayName": "  Ada L  ", "password": "12345678"}}, ""
    )
    assert payload["user"]["handle"] == handle
    assert payload["user"]["displayName"] == "Ada L"
    assert payload["user"]["bio"] == ""
    assert payload["token"]
    viewer = api.data(VIEWER, token=payload["token"])["viewer"]
    assert viewer == {"id": payload["user"]["id"], "handle": handle}


def test_log_in_returns_working_token(api: Api) -> None:
    account = api.sign_up()
    payload = mutate(api, LOG_IN, {"input": {"handle": account.handle, "password": "correct horse"}}, "")
    assert payload["user"] == {"id": account.id, "handle": account.handle}
    assert api.data("query { viewer { handle } }", token=payload["token"])["viewer"] == {"handle": account.handle}


def test_update_profile_sets_display_name_and_bio(api: Api) -> None:
    account = api.sign_up()
    user = mutate(api, UPDATE_PROFILE, {"input": {"displayName": "New Name", "bio": "Writes code."}}, account.token)
    assert user == {"id": account.id, "displayName": "New Name", "bio": "Writes code."}
    # Only what is given changes.
    user = mutate(api, UPDATE_PROFILE, {"input": {"bio": "Only the bio."}}, account.token)
    assert user == {"id": account.id, "displayName": "New Name", "bio": "Only the bio."}
    stored = get_user(api, account.handle)
    assert (stored["displayName"], stored["bio"]) == ("New Name", "Only the bio.")


def test_profiles_refuse_control_characters(api: Api) -> None:
    account = api.sign_up()
    for field in ("displayName", "bio"):
        assert api.error_code(UPDATE_PROFILE, {"input": {field: "bell\x07"}}, account.token) == "BAD_USER_INPUT"
    sign_up = {"input": {"handle": f"c{account.handle[1:12]}", "displayName": "nul\x00", "password": "correct horse"}}
    assert api.error_code(SIGN_UP, sign_up) == "BAD_USER_INPUT"
    assert get_user(api, account.handle)["bio"] == ""


def test_follow_returns_followee(api: Api) -> None:
    fan, star = api.sign_up(), api.sign_up()
    followee = mutate(api, FOLLOW, {"id": star.id}, fan.token)
    assert followee == {
        "id": star.id,
        "followerCount": 1,
        "followingCount": 0,
        "viewerFollows": True,
        "followsViewer": False,
    }
    assert get_user(api, fan.handle)["followingCount"] == 1
    assert get_user(api, fan.handle, star.token)["followsViewer"] is True


def test_unfollow_returns_followee(api: Api) -> None:
    fan, star = api.sign_up(), api.sign_up()
    api.follow(fan, star)
    followee = mutate(api, UNFOLLOW, {"id": star.id}, fan.token)
    assert followee == {"id": star.id, "followerCount": 0, "viewerFollows": False}
    assert get_user(api, fan.handle)["followingCount"] == 0


def test_create_tweet_plain(api: Api) -> None:
    author = api.sign_up()
    tweet = mutate(api, CREATE, {"input": {"text": "hello world"}}, author.token)
    assert tweet["text"] == "hello world"
    assert tweet["editedAt"] is None
    assert tweet["hashtags"] == []
    assert tweet["mentions"] == []
    assert (tweet["likeCount"], tweet["retweetCount"], tweet["replyCount"]) == (0, 0, 0)
    assert (tweet["viewerHasLiked"], tweet["viewerHasRetweeted"]) == (False, False)
    assert tweet["author"] == {"id": author.id, "handle": author.handle, "tweetCount": 1}
    assert tweet["retweetOf"] is None
    assert tweet["inReplyTo"] is None
    assert get_tweet(api, tweet["id"]) == {**tweet, "viewerHasLiked": False, "viewerHasRetweeted": False}
    assert tweet_ids_of(api, author.handle) == [tweet["id"]]


def test_create_tweet_in_reply_to(api: Api) -> None:
    author, replier = api.sign_up(), api.sign_up()
    parent_id = api.tweet(author, "the parent")
    reply = mutate(api, CREATE, {"input": {"text": "a reply", "inReplyToId": parent_id}}, replier.token)
    assert reply["inReplyTo"] == {"id": parent_id, "replyCount": 1}
    assert reply["author"]["id"] == replier.id
    parent = get_tweet(api, parent_id)
    assert parent is not None
    assert parent["replyCount"] == 1
    replies = api.data("query($id: ID!) { tweet(id: $id) { replies { edges { node { id } } } } }", {"id": parent_id})
    assert [edge["node"]["id"] for edge in replies["tweet"]["replies"]["edges"]] == [reply["id"]]


def test_create_tweet_with_hashtags_and_mentions(api: Api) -> None:
    author, friend = api.sign_up(), api.sign_up()
    text = f"#Chirp is up, hi @{friend.handle} and @{author.handle}! #graphs #chirp"
    tweet = mutate(api, CREATE, {"input": {"text": text}}, author.token)
    assert tweet["text"] == text
    assert tweet["hashtags"] == ["Chirp", "graphs"]
    assert tweet["mentions"] == [{"id": friend.id, "handle": friend.handle}, {"id": author.id, "handle": author.handle}]


def test_create_tweet_with_idempotency_key(api: Api) -> None:
    author = api.sign_up()
    tweet = mutate(api, CREATE, {"input": {"text": "keyed", "idempotencyKey": "key-1"}}, author.token)
    assert tweet["text"] == "keyed"
    assert tweet["author"]["tweetCount"] == 1


def test_edit_tweet(api: Api) -> None:
    author, friend = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "first draft #old")
    text = f"final text #new #Better cc @{friend.handle}"
    edited = mutate(api, EDIT, {"input": {"id": tweet_id, "text": text}}, author.token)
    assert edited["id"] == tweet_id
    assert edited["text"] == text
    assert edited["editedAt"] is not None
    assert edited["hashtags"] == ["new", "Better"]
    assert edited["mentions"] == [{"id": friend.id, "handle": friend.handle}]
    stored = get_tweet(api, tweet_id)
    assert stored is not None
    assert (stored["text"], stored["hashtags"], stored["editedAt"]) == (text, ["new", "Better"], edited["editedAt"])
    assert stored["author"]["tweetCount"] == 1


async def test_delete_tweet(api: Api, neo4j: AsyncDriver) -> None:
    author = api.sign_up()
    tweet_id = api.tweet(author, "short-lived")
    assert mutate(api, DELETE, {"id": tweet_id}, author.token) == {"id": tweet_id, "deleted": True}
    assert get_tweet(api, tweet_id) is None
    assert api.data("query($id: ID!) { node(id: $id) { id } }", {"id": tweet_id})["node"] is None
    assert get_user(api, author.handle)["tweetCount"] == 0
    assert await posted_count(neo4j, author) == 0


def test_like(api: Api) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "like me")
    liked = mutate(api, LIKE, {"id": tweet_id}, fan.token)
    assert liked["id"] == tweet_id
    assert (liked["likeCount"], liked["viewerHasLiked"]) == (1, True)
    likes = api.data("query($h: String!) { user(handle: $h) { likes { edges { node { id } } } } }", {"h": fan.handle})
    assert [edge["node"]["id"] for edge in likes["user"]["likes"]["edges"]] == [tweet_id]


def test_unlike(api: Api) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "like me, then not")
    mutate(api, LIKE, {"id": tweet_id}, fan.token)
    unliked = mutate(api, UNLIKE, {"id": tweet_id}, fan.token)
    assert unliked["id"] == tweet_id
    assert (unliked["likeCount"], unliked["viewerHasLiked"]) == (0, False)


def test_retweet(api: Api) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "spread the word")
    retweet = mutate(api, RETWEET, {"id": tweet_id}, fan.token)
    assert retweet["id"] != tweet_id
    assert retweet["text"] == ""
    assert retweet["author"]["id"] == fan.id
    assert retweet["retweetOf"] == {
        "id": tweet_id,
        "text": "spread the word",
        "retweetCount": 1,
        "viewerHasRetweeted": True,
        "author": {"id": author.id},
    }
    assert retweet["viewerHasRetweeted"] is True
    assert tweet_ids_of(api, fan.handle) == [retweet["id"]]
    original = get_tweet(api, tweet_id, fan.token)
    assert original is not None
    assert (original["retweetCount"], original["viewerHasRetweeted"]) == (1, True)


async def test_undo_retweet(api: Api, neo4j: AsyncDriver) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "spread, then unspread")
    retweet_id = mutate(api, RETWEET, {"id": tweet_id}, fan.token)["id"]
    original = mutate(api, UNDO_RETWEET, {"id": tweet_id}, fan.token)
    assert original["id"] == tweet_id
    assert original["retweetOf"] is None
    assert (original["retweetCount"], original["viewerHasRetweeted"]) == (0, False)
    assert get_tweet(api, retweet_id) is None
    assert tweet_ids_of(api, fan.handle) == []
    assert await posted_count(neo4j, fan) == 0


# --- idempotency ---------------------------------------------------------------------------------------------------


async def test_follow_twice_is_one_follow(api: Api, neo4j: AsyncDriver) -> None:
    fan, star = api.sign_up(), api.sign_up()
    mutate(api, FOLLOW, {"id": star.id}, fan.token)
    again = mutate(api, FOLLOW, {"id": star.id}, fan.token)
    assert (again["followerCount"], again["viewerFollows"]) == (1, True)
    records, _, _ = await neo4j.execute_query(
        "MATCH (:User {id: $a})-[f:FOLLOWS]->(:User {id: $b}) RETURN count(f) AS n", a=raw_id(fan.id), b=raw_id(star.id)
    )
    assert records[0]["n"] == 1


def test_unfollow_when_not_following(api: Api) -> None:
    fan, star = api.sign_up(), api.sign_up()
    for _ in range(2):
        followee = mutate(api, UNFOLLOW, {"id": star.id}, fan.token)
        assert followee == {"id": star.id, "followerCount": 0, "viewerFollows": False}


async def test_like_twice_is_one_like(api: Api, neo4j: AsyncDriver) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "like me twice")
    mutate(api, LIKE, {"id": tweet_id}, fan.token)
    again = mutate(api, LIKE, {"id": tweet_id}, fan.token)
    assert (again["likeCount"], again["viewerHasLiked"]) == (1, True)
    records, _, _ = await neo4j.execute_query(
        "MATCH (:User {id: $u})-[l:LIKED]->(:Tweet {id: $t}) RETURN count(l) AS n", u=raw_id(fan.id), t=raw_id(tweet_id)
    )
    assert records[0]["n"] == 1


def test_unlike_twice_is_fine(api: Api) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "never liked")
    for _ in range(2):
        unliked = mutate(api, UNLIKE, {"id": tweet_id}, fan.token)
        assert (unliked["id"], unliked["likeCount"], unliked["viewerHasLiked"]) == (tweet_id, 0, False)


async def test_retweet_twice_is_one_retweet(api: Api, neo4j: AsyncDriver) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "retweet me twice")
    first = mutate(api, RETWEET, {"id": tweet_id}, fan.token)
    second = mutate(api, RETWEET, {"id": tweet_id}, fan.token)
    assert second["id"] == first["id"]
    assert second["retweetOf"]["retweetCount"] == 1
    assert await posted_count(neo4j, fan) == 1
    assert get_user(api, fan.handle)["tweetCount"] == 1


async def test_retweeting_a_retweet_retweets_the_original(api: Api, neo4j: AsyncDriver) -> None:
    author, middle, fan = api.sign_up(), api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "the original")
    middle_retweet = mutate(api, RETWEET, {"id": tweet_id}, middle.token)
    fan_retweet = mutate(api, RETWEET, {"id": middle_retweet["id"]}, fan.token)
    assert fan_retweet["id"] != middle_retweet["id"]
    assert fan_retweet["retweetOf"]["id"] == tweet_id
    assert fan_retweet["retweetOf"]["retweetCount"] == 2
    # Retweeting the original afterwards is the same retweet.
    assert mutate(api, RETWEET, {"id": tweet_id}, fan.token)["id"] == fan_retweet["id"]
    assert await posted_count(neo4j, fan) == 1


async def test_create_tweet_same_key_same_user_is_one_tweet(api: Api, neo4j: AsyncDriver, run_id: str) -> None:
    author = api.sign_up()
    first = mutate(api, CREATE, {"input": {"text": f"retried {run_id}", "idempotencyKey": "k"}}, author.token)
    second = mutate(api, CREATE, {"input": {"text": f"retried {run_id}", "idempotencyKey": "k"}}, author.token)
    assert second["id"] == first["id"]
    assert get_user(api, author.handle)["tweetCount"] == 1
    assert await tweets_with_text(neo4j, f"retried {run_id}") == 1


async def test_create_tweet_same_key_two_users_is_two_tweets(api: Api, neo4j: AsyncDriver, run_id: str) -> None:
    one, two = api.sign_up(), api.sign_up()
    text = f"shared key {run_id}"
    first = mutate(api, CREATE, {"input": {"text": text, "idempotencyKey": run_id}}, one.token)
    second = mutate(api, CREATE, {"input": {"text": text, "idempotencyKey": run_id}}, two.token)
    assert first["id"] != second["id"]
    assert (first["author"]["id"], second["author"]["id"]) == (one.id, two.id)
    assert get_user(api, one.handle)["tweetCount"] == 1
    assert get_user(api, two.handle)["tweetCount"] == 1
    assert await tweets_with_text(neo4j, text) == 2


# --- refusals: authentication --------------------------------------------------------------------------------------

ANONYMOUS_OPERATIONS = {
    "updateProfile": 'mutation { updateProfile(input: {displayName: "Mallory", bio: "owned"}) { id } }',
    "follow": "mutation($user: ID!) { follow(userId: $user) { id } }",
    "unfollow": "mutation($user: ID!) { unfollow(userId: $user) { id } }",
    "createTweet": "mutation($text: String!) { createTweet(input: {text: $text}) { id } }",
    "createTweetReply": "mutation($text: String!, $tweet: ID!) "
    "{ createTweet(input: {text: $text, inReplyToId: $tweet}) { id } }",
    "editTweet": "mutation($tweet: ID!, $text: String!) { editTweet(input: {id: $tweet, text: $text}) { id } }",
    "deleteTweet": "mutation($tweet: ID!) { deleteTweet(id: $tweet) { id deleted } }",
    "like": "mutation($tweet: ID!) { like(tweetId: $tweet) { id } }",
    "unlike": "mutation($tweet: ID!) { unlike(tweetId: $tweet) { id } }",
    "retweet": "mutation($tweet: ID!) { retweet(tweetId: $tweet) { id } }",
    "undoRetweet": "mutation($tweet: ID!) { undoRetweet(tweetId: $tweet) { id } }",
    "homeTimeline": "query { homeTimeline { edges { node { id } } } }",
}


def bad_token(kind: str, victim: Account) -> str | None:
    if kind == "anonymous":
        return None
    if kind == "garbage":
        return "nonsense"  # sent as "Authorization: Bearer nonsense"
    # A well-formed token for a real user, signed with a key that is not the server's.
    claims = {"sub": str(raw_id(victim.id)), "iat": int(time.time()), "exp": int(time.time()) + 3600}
    return jwt.encode(claims, "not-the-server-secret-not-the-server-secret", algorithm="HS256")


@pytest.mark.parametrize("token_kind", ["anonymous", "garbage", "forged"])
@pytest.mark.parametrize("operation", list(ANONYMOUS_OPERATIONS))
async def test_unauthenticated_writes_nothing(
    api: Api, neo4j: AsyncDriver, run_id: str, operation: str, token_kind: str
) -> None:
    owner, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(owner, f"target {run_id}")
    api.follow(fan, owner)
    mutate(api, LIKE, {"id": tweet_id}, fan.token)
    mutate(api, RETWEET, {"id": tweet_id}, fan.token)
    before = await snapshot(neo4j, owner, fan)

    query = ANONYMOUS_OPERATIONS[operation]
    text = f"intruder {run_id}"
    variables = used_variables(query, {"user": owner.id, "tweet": tweet_id, "text": text})
    assert refused(api, query, variables, bad_token(token_kind, owner)) == "UNAUTHENTICATED"

    assert await snapshot(neo4j, owner, fan) == before
    assert await tweets_with_text(neo4j, text) == 0
    tweet = get_tweet(api, tweet_id)
    assert tweet is not None
    assert (tweet["text"], tweet["editedAt"], tweet["likeCount"], tweet["retweetCount"], tweet["replyCount"]) == (
        f"target {run_id}",
        None,
        1,
        1,
        0,
    )
    user = get_user(api, owner.handle)
    assert (user["displayName"], user["bio"], user["followerCount"], user["tweetCount"]) == (
        f"Name {owner.handle}",
        "",
        1,
        1,
    )


@pytest.mark.parametrize("token_kind", ["garbage", "forged"])
def test_bad_token_is_refused_even_where_anonymous_is_allowed(api: Api, token_kind: str) -> None:
    owner = api.sign_up()
    assert api.data(VIEWER)["viewer"] is None
    assert refused(api, VIEWER, token=bad_token(token_kind, owner)) == "UNAUTHENTICATED"


# --- refusals: another user's tweet --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'mutation($id: ID!) { editTweet(input: {id: $id, text: "hijacked"}) { id } }',
        "mutation($id: ID!) { deleteTweet(id: $id) { id deleted } }",
    ],
    ids=["editTweet", "deleteTweet"],
)
async def test_changing_another_users_tweet_is_forbidden(api: Api, neo4j: AsyncDriver, run_id: str, query: str) -> None:
    owner, intruder = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(owner, f"mine #t{run_id}")
    before = await snapshot(neo4j, owner, intruder)
    assert refused(api, query, {"id": tweet_id}, intruder.token) == "FORBIDDEN"
    assert await snapshot(neo4j, owner, intruder) == before
    tweet = get_tweet(api, tweet_id)
    assert tweet is not None
    assert (tweet["text"], tweet["editedAt"], tweet["hashtags"]) == (f"mine #t{run_id}", None, [f"t{run_id}"])
    assert await tweets_with_text(neo4j, "hijacked") == 0


async def test_deleting_someone_elses_retweet_is_forbidden(api: Api, neo4j: AsyncDriver) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "retweeted by a fan")
    retweet_id = mutate(api, RETWEET, {"id": tweet_id}, fan.token)["id"]
    before = await snapshot(neo4j, author, fan)
    assert refused(api, DELETE, {"id": retweet_id}, author.token) == "FORBIDDEN"
    assert await snapshot(neo4j, author, fan) == before
    assert tweet_ids_of(api, fan.handle) == [retweet_id]


# --- refusals: ids that name nothing -------------------------------------------------------------------------------

ID_KINDS = ["deleted", "never-existed", "malformed", "other-type"]


async def missing_user_id(api: Api, neo4j: AsyncDriver, kind: str) -> str:
    if kind == "deleted":
        ghost = api.sign_up()
        await delete_node(neo4j, "User", ghost.id)
        return ghost.id
    if kind == "never-existed":
        return MISSING_USER_ID
    if kind == "malformed":
        return MALFORMED_ID
    other = api.sign_up()
    return api.tweet(other, "a tweet, not a user")


async def missing_tweet_id(api: Api, neo4j: AsyncDriver, kind: str) -> str:
    if kind == "deleted":
        other = api.sign_up()
        gone = api.tweet(other, "soon gone")
        await delete_node(neo4j, "Tweet", gone)
        return gone
    if kind == "never-existed":
        return MISSING_TWEET_ID
    if kind == "malformed":
        return MALFORMED_ID
    return api.sign_up().id


@pytest.mark.parametrize("kind", ID_KINDS)
@pytest.mark.parametrize("query", [FOLLOW, UNFOLLOW], ids=["follow", "unfollow"])
async def test_missing_user_is_not_found(api: Api, neo4j: AsyncDriver, query: str, kind: str) -> None:
    viewer = api.sign_up()
    user_id = await missing_user_id(api, neo4j, kind)
    before = await snapshot(neo4j, viewer)
    assert refused(api, query, {"id": user_id}, viewer.token) == "NOT_FOUND"
    assert await snapshot(neo4j, viewer) == before
    assert get_user(api, viewer.handle)["followingCount"] == 0


TWEET_ID_OPERATIONS = {
    "like": LIKE,
    "unlike": UNLIKE,
    "retweet": RETWEET,
    "undoRetweet": UNDO_RETWEET,
    "editTweet": 'mutation($id: ID!) { editTweet(input: {id: $id, text: "edited #ghost"}) { id } }',
    "deleteTweet": DELETE,
}


@pytest.mark.parametrize("kind", ID_KINDS)
@pytest.mark.parametrize("operation", list(TWEET_ID_OPERATIONS))
async def test_missing_tweet_is_not_found(api: Api, neo4j: AsyncDriver, operation: str, kind: str) -> None:
    viewer = api.sign_up()
    tweet_id = await missing_tweet_id(api, neo4j, kind)
    before = await snapshot(neo4j, viewer)
    assert refused(api, TWEET_ID_OPERATIONS[operation], {"id": tweet_id}, viewer.token) == "NOT_FOUND"
    assert await snapshot(neo4j, viewer) == before
    assert await posted_count(neo4j, viewer) == 0
    assert await tweets_with_text(neo4j, "edited #ghost") == 0


@pytest.mark.parametrize("kind", ID_KINDS)
async def test_reply_to_missing_tweet_is_not_found(api: Api, neo4j: AsyncDriver, run_id: str, kind: str) -> None:
    viewer = api.sign_up()
    parent_id = await missing_tweet_id(api, neo4j, kind)
    text = f"reply to nothing {run_id}"
    code = refused(api, CREATE, {"input": {"text": text, "inReplyToId": parent_id}}, viewer.token)
    assert code == "NOT_FOUND"
    assert await tweets_with_text(neo4j, text) == 0
    assert await posted_count(neo4j, viewer) == 0
    assert get_user(api, viewer.handle)["tweetCount"] == 0


# --- refusals: invalid input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "display_name", "password"),
    [
        ("", "Marker {run}", "long enough"),
        ("x{run}abc", "Marker {run}", "long enough"),  # 16 characters
        ("bad-{run}", "Marker {run}", "long enough"),
        ("with {run}", "Marker {run}", "long enough"),
        ("h{run}", "", "long enough"),
        ("h{run}", "   ", "long enough"),
        ("h{run}", "Marker {run}", "seven77"),
        ("h{run}", "Marker {run}", ""),
    ],
    ids=["empty-handle", "16-char-handle", "dash-handle", "space-handle", "empty-name", "blank-name", "7-char-password",
         "empty-password"],
)  # fmt: skip
async def test_sign_up_invalid_input(
    api: Api, neo4j: AsyncDriver, run_id: str, handle: str, display_name: str, password: str
) -> None:
    handle, display_name = handle.format(run=run_id), display_name.format(run=run_id)
    variables = {"input": {"handle": handle, "displayName": display_name, "password": password}}
    assert refused(api, SIGN_UP, variables) == "BAD_USER_INPUT"
    records, _, _ = await neo4j.execute_query(
        "MATCH (u:User) WHERE u.handleLower = toLower($handle) OR u.displayName = $name RETURN count(u) AS n",
        handle=handle,
        name=f"Marker {run_id}",
    )
    assert records[0]["n"] == 0


def test_sign_up_taken_handle_in_other_case_is_conflict(api: Api, run_id: str) -> None:
    first = api.sign_up(f"C{run_id}")
    variables = {"input": {"handle": f"c{run_id}", "displayName": "Copycat", "password": "long enough"}}
    assert refused(api, SIGN_UP, variables) == "CONFLICT"
    user = get_user(api, f"c{run_id}")
    assert (user["id"], user["handle"], user["displayName"]) == (first.id, f"C{run_id}", f"Name C{run_id}")


async def test_sign_up_taken_handle_writes_nothing(api: Api, neo4j: AsyncDriver, run_id: str) -> None:
    api.sign_up(f"d{run_id}")
    variables = {"input": {"handle": f"D{run_id}", "displayName": f"Copy {run_id}", "password": "long enough"}}
    assert refused(api, SIGN_UP, variables) == "CONFLICT"
    records, _, _ = await neo4j.execute_query(
        "MATCH (u:User) WHERE u.handleLower = $lower OR u.displayName = $name RETURN count(u) AS n",
        lower=f"d{run_id}",
        name=f"Copy {run_id}",
    )
    assert records[0]["n"] == 1


def test_log_in_failures_are_indistinguishable(api: Api, run_id: str) -> None:
    account = api.sign_up()
    wrong_password = refusal(api, LOG_IN, {"input": {"handle": account.handle, "password": "wrong horse"}})
    unknown_handle = refusal(api, LOG_IN, {"input": {"handle": f"nobody{run_id}", "password": "correct horse"}})
    assert wrong_password["extensions"]["code"] == "UNAUTHENTICATED"
    assert unknown_handle["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong_password["message"] == unknown_handle["message"]
    assert account.handle not in wrong_password["message"]


TWEET_TEXT_REFUSED = {"empty": "", "blank": "   ", "281-ascii": "a" * 281, "141-cjk": "世" * 141}
TWEET_TEXT_ACCEPTED = {"280-ascii": "b" * 280, "140-cjk": "世" * 140, "1-char": "c"}


@pytest.mark.parametrize("text", TWEET_TEXT_REFUSED.values(), ids=TWEET_TEXT_REFUSED.keys())
async def test_create_tweet_invalid_text(api: Api, neo4j: AsyncDriver, text: str) -> None:
    author = api.sign_up()
    assert refused(api, CREATE, {"input": {"text": text}}, author.token) == "BAD_USER_INPUT"
    assert await posted_count(neo4j, author) == 0
    assert get_user(api, author.handle)["tweetCount"] == 0


@pytest.mark.parametrize("text", TWEET_TEXT_ACCEPTED.values(), ids=TWEET_TEXT_ACCEPTED.keys())
def test_create_tweet_longest_text_accepted(api: Api, text: str) -> None:
    author = api.sign_up()
    tweet = mutate(api, CREATE, {"input": {"text": text}}, author.token)
    assert tweet["text"] == text
    assert tweet["author"]["tweetCount"] == 1


@pytest.mark.parametrize("text", TWEET_TEXT_REFUSED.values(), ids=TWEET_TEXT_REFUSED.keys())
async def test_edit_tweet_to_invalid_text(api: Api, neo4j: AsyncDriver, text: str) -> None:
    author = api.sign_up()
    tweet_id = api.tweet(author, "keep me #kept")
    before = await snapshot(neo4j, author)
    assert refused(api, EDIT, {"input": {"id": tweet_id, "text": text}}, author.token) == "BAD_USER_INPUT"
    assert await snapshot(neo4j, author) == before
    tweet = get_tweet(api, tweet_id)
    assert tweet is not None
    assert (tweet["text"], tweet["editedAt"], tweet["hashtags"]) == ("keep me #kept", None, ["kept"])


@pytest.mark.parametrize("query", [FOLLOW, UNFOLLOW], ids=["follow", "unfollow"])
async def test_follow_yourself_is_bad_input(api: Api, neo4j: AsyncDriver, query: str) -> None:
    account = api.sign_up()
    before = await snapshot(neo4j, account)
    assert refused(api, query, {"id": account.id}, account.token) == "BAD_USER_INPUT"
    assert await snapshot(neo4j, account) == before
    user = get_user(api, account.handle)
    assert (user["followerCount"], user["followingCount"]) == (0, 0)


HOME = "query($first: Int, $after: String) { homeTimeline(first: $first, after: $after) { edges { cursor } } }"
USER_TWEETS = """
query($h: String!, $first: Int, $after: String) {
  user(handle: $h) { tweets(first: $first, after: $after) { edges { cursor } } }
}
"""


@pytest.mark.parametrize(
    ("first", "after"),
    [(101, None), (-1, None), (20, "not-a-cursor"), (20, MISSING_TWEET_ID), (20, global_id("cursor", 2**63))],
    ids=["first-101", "first-negative", "after-garbage", "after-an-id", "after-out-of-range"],
)
@pytest.mark.parametrize("query", [HOME, USER_TWEETS], ids=["homeTimeline", "User.tweets"])
def test_bad_page_arguments(api: Api, query: str, first: int, after: str | None) -> None:
    account = api.sign_up()
    api.tweet(account, "something to page over")
    variables = used_variables(query, {"h": account.handle, "first": first, "after": after})
    assert refused(api, query, variables, account.token) == "BAD_USER_INPUT"


@pytest.mark.parametrize("query", [HOME, USER_TWEETS], ids=["homeTimeline", "User.tweets"])
def test_largest_page_is_accepted(api: Api, query: str) -> None:
    account = api.sign_up()
    api.tweet(account, "one")
    api.tweet(account, "two")
    variables = used_variables(query, {"h": account.handle, "first": 100, "after": None})
    data = api.data(query, variables, account.token)
    connection = data["homeTimeline"] if "homeTimeline" in data else data["user"]["tweets"]
    assert len(connection["edges"]) == 2
    # A cursor from a page is accepted as `after`.
    variables["first"], variables["after"] = 100, connection["edges"][0]["cursor"]
    data = api.data(query, variables, account.token)
    connection = data["homeTimeline"] if "homeTimeline" in data else data["user"]["tweets"]
    assert len(connection["edges"]) == 1


# --- deletion rules ------------------------------------------------------------------------------------------------


async def test_deleting_a_tweet_removes_its_retweets(api: Api, neo4j: AsyncDriver) -> None:
    author, fan, other = api.sign_up(), api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "retweeted, then deleted")
    fan_retweet = mutate(api, RETWEET, {"id": tweet_id}, fan.token)["id"]
    other_retweet = mutate(api, RETWEET, {"id": tweet_id}, other.token)["id"]
    assert tweet_ids_of(api, fan.handle) == [fan_retweet]

    assert mutate(api, DELETE, {"id": tweet_id}, author.token) == {"id": tweet_id, "deleted": True}
    assert tweet_ids_of(api, fan.handle) == []
    assert tweet_ids_of(api, other.handle) == []
    assert get_tweet(api, fan_retweet) is None
    assert get_tweet(api, other_retweet) is None
    assert get_user(api, fan.handle)["tweetCount"] == 0
    assert await posted_count(neo4j, fan) == 0
    assert await posted_count(neo4j, other) == 0
    home = api.data("query { homeTimeline { edges { node { id } } } }", token=fan.token)["homeTimeline"]
    assert home["edges"] == []


async def test_deleting_a_tweet_keeps_its_replies(api: Api, neo4j: AsyncDriver) -> None:
    author, replier = api.sign_up(), api.sign_up()
    parent_id = api.tweet(author, "parent, soon deleted")
    reply_id = api.tweet(replier, "an answer that stays", inReplyToId=parent_id)
    mutate(api, DELETE, {"id": parent_id}, author.token)
    reply = get_tweet(api, reply_id)
    assert reply is not None
    assert reply["text"] == "an answer that stays"
    assert reply["inReplyTo"] is None
    assert tweet_ids_of(api, replier.handle) == [reply_id]
    assert await posted_count(neo4j, replier) == 1


async def test_deleting_a_reply_decrements_reply_count(api: Api, neo4j: AsyncDriver) -> None:
    author, replier = api.sign_up(), api.sign_up()
    parent_id = api.tweet(author, "parent")
    first = api.tweet(replier, "first reply", inReplyToId=parent_id)
    api.tweet(replier, "second reply", inReplyToId=parent_id)
    parent = get_tweet(api, parent_id)
    assert parent is not None
    assert parent["replyCount"] == 2
    assert mutate(api, DELETE, {"id": first}, replier.token) == {"id": first, "deleted": True}
    parent = get_tweet(api, parent_id)
    assert parent is not None
    assert parent["replyCount"] == 1
    assert await posted_count(neo4j, author) == 1


def test_deleting_your_retweet_undoes_it(api: Api) -> None:
    author, fan = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(author, "retweet, then delete the retweet")
    retweet_id = mutate(api, RETWEET, {"id": tweet_id}, fan.token)["id"]
    assert mutate(api, DELETE, {"id": retweet_id}, fan.token) == {"id": retweet_id, "deleted": True}
    original = get_tweet(api, tweet_id, fan.token)
    assert original is not None
    assert (original["retweetCount"], original["viewerHasRetweeted"]) == (0, False)


# --- nothing internal leaks ----------------------------------------------------------------------------------------


async def test_refusals_never_leak_internals(api: Api, neo4j: AsyncDriver, run_id: str) -> None:
    """Every refusal above goes through refused(); this collects a broad set in one place, including
    errors raised outside any resolver (syntax, validation, variable coercion)."""
    owner, intruder = api.sign_up(), api.sign_up()
    tweet_id = api.tweet(owner, "target")
    ghost_tweet = await missing_tweet_id(api, neo4j, "deleted")
    requests: list[tuple[str, dict[str, Any], str | None]] = [
        (FOLLOW, {"id": owner.id}, None),
        (FOLLOW, {"id": owner.id}, "nonsense"),
        (FOLLOW, {"id": MALFORMED_ID}, intruder.token),
        (FOLLOW, {"id": MISSING_USER_ID}, intruder.token),
        (FOLLOW, {"id": intruder.id}, intruder.token),
        (LIKE, {"id": ghost_tweet}, intruder.token),
        (LIKE, {"id": "=" * 7}, intruder.token),
        (LIKE, {"id": base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()}, intruder.token),
        (LIKE, {"id": "VHdlZXQ6"}, intruder.token),  # "Tweet:" with no number
        (DELETE, {"id": tweet_id}, intruder.token),
        (EDIT, {"input": {"id": tweet_id, "text": "x" * 300}}, owner.token),
        (CREATE, {"input": {"text": "y", "idempotencyKey": ""}}, owner.token),
        (CREATE, {"input": {"text": "y", "idempotencyKey": "k" * 129}}, owner.token),
        (UPDATE_PROFILE, {"input": {"bio": "b" * 161}}, owner.token),
        (UPDATE_PROFILE, {"input": {"avatarMediaId": MALFORMED_ID}}, owner.token),
        (SIGN_UP, {"input": {"handle": owner.handle, "displayName": "x", "password": "long enough"}}, None),
        (SIGN_UP, {"input": {"handle": "x" * 1000, "displayName": "x", "password": "long enough"}}, None),
        (LOG_IN, {"input": {"handle": owner.handle, "password": ""}}, None),
        (LOG_IN, {"input": {"handle": "", "password": "x" * 10000}}, None),
        (HOME, {"first": 2**31 - 1}, owner.token),
        (HOME, {"first": "twenty"}, owner.token),
        (HOME, {"after": "Y3Vyc29yOg"}, owner.token),  # "cursor:" with no number
        ("mutation { like(tweetId: ", {}, owner.token),
        ("query { nosuchfield }", {}, owner.token),
        ("mutation($id: ID!) { like(tweetId: $id) { id } }", {}, owner.token),
    ]
    codes = set()
    internal: list[tuple[str, dict[str, Any]]] = []
    for query, variables, token in requests:
        body = api.execute(query, variables, token)
        errors = body.get("errors") or []
        assert errors, (query, variables, body)
        for error in errors:
            assert_no_leak(error)
            codes.add(error["extensions"]["code"])
            if error["extensions"]["code"] == "INTERNAL_SERVER_ERROR":
                internal.append((query.split("{")[1].split("(")[0].strip(), variables))
    # A client's bad input is never the server's fault.
    assert internal == []
    assert codes == {"UNAUTHENTICATED", "NOT_FOUND", "FORBIDDEN", "BAD_USER_INPUT", "CONFLICT"}
    tweet = get_tweet(api, tweet_id)
    assert tweet is not None
    assert (tweet["text"], tweet["editedAt"]) == ("target", None)
    assert get_user(api, owner.handle)["tweetCount"] == 1


# An id is opaque: one whose number does not fit the store's 64-bit integers still names nothing.
OUT_OF_RANGE_TWEET_ID = global_id("Tweet", 2**63)
OUT_OF_RANGE_USER_ID = global_id("User", 2**63)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (LIKE, {"id": OUT_OF_RANGE_TWEET_ID}),
        (RETWEET, {"id": OUT_OF_RANGE_TWEET_ID}),
        (DELETE, {"id": OUT_OF_RANGE_TWEET_ID}),
        (FOLLOW, {"id": OUT_OF_RANGE_USER_ID}),
        (CREATE, {"input": {"text": "reply to a huge id", "inReplyToId": OUT_OF_RANGE_TWEET_ID}}),
    ],
    ids=["like", "retweet", "deleteTweet", "follow", "createTweet-reply"],
)
async def test_out_of_range_id_is_not_found(
    api: Api, neo4j: AsyncDriver, query: str, variables: dict[str, Any]
) -> None:
    viewer = api.sign_up()
    before = await snapshot(neo4j, viewer)
    assert refused(api, query, variables, viewer.token) == "NOT_FOUND"
    assert await snapshot(neo4j, viewer) == before
