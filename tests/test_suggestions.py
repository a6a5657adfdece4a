"""whoToFollow on the real graph and cache: each source and its reason, mutual counts and social
proof, every exclusion, dismissals and their undo, opt-out, cold start, and the per-viewer cache
dropped by a follow.

The test database is shared: a test checks the accounts it made, never the whole list (popular
accounts of other tests may fill the rest).
"""

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from feeds.keys import Keys
from graph import suggestions
from graph.follows import following_newest_first
from graph.snowflake import EPOCH_MS, MS_DIVISOR
from resolvers.ids import from_global_id
from settings import Settings
from tests.conftest import Account, Api, RunCounter, settings_for_test

WHO_TO_FOLLOW = """
query($first: Int, $proof: Int) {
  whoToFollow(first: $first) { user { id handle } mutualCount reason followedBy(first: $proof) { handle } }
}
"""
DISMISS = "mutation($id: ID!) { dismissSuggestion(userId: $id) }"
UNDO = "mutation($id: ID!) { undoDismissSuggestion(userId: $id) }"


def suggested(api: Api, viewer: Account, proof: int = 3) -> dict[str, dict[str, Any]]:
    """The viewer's suggestions by handle, each with its rank."""
    items = api.data(WHO_TO_FOLLOW, {"first": 30, "proof": proof}, viewer.token)["whoToFollow"]
    return {item["user"]["handle"]: item | {"rank": rank} for rank, item in enumerate(items)}


def circle(api: Api) -> dict[str, Account]:
    """viewer follows a, b, c (in that order); all three follow x; a follows y. a also follows b, and
    b follows the viewer: a friend of a friend and a follower, but followed already."""
    people = {name: api.sign_up() for name in ("viewer", "a", "b", "c", "x", "y")}
    for name in ("a", "b", "c"):
        api.follow(people["viewer"], people[name])
        api.follow(people[name], people["x"])
    api.follow(people["a"], people["y"])
    api.follow(people["a"], people["b"])
    api.follow(people["b"], people["viewer"])
    return people


def everyone_follows(api: Api, follows: int, accounts: int) -> tuple[Account, list[Account], list[Account]]:
    """(viewer, their follows, accounts): the viewer follows each of `follows` new users, and each
    of those follows every one of `accounts` new users."""
    viewer = api.sign_up()
    followed = [api.sign_up() for _ in range(follows)]
    suggested_accounts = [api.sign_up() for _ in range(accounts)]
    for follow in followed:
        api.follow(viewer, follow)
        for account in suggested_accounts:
            api.follow(follow, account)
    return viewer, followed, suggested_accounts


def test_friends_of_friends_with_mutual_count_and_social_proof(api: Api) -> None:
    people = circle(api)
    found = suggested(api, people["viewer"])
    x, y = found[people["x"].handle], found[people["y"].handle]
    assert (x["mutualCount"], x["reason"]) == (3, "FOLLOWED_BY_FOLLOWS")
    assert [user["handle"] for user in x["followedBy"]] == [people[n].handle for n in ("c", "b", "a")]
    assert (y["mutualCount"], y["reason"]) == (1, "FOLLOWED_BY_FOLLOWS")
    assert x["rank"] < y["rank"], "more mutual follows rank higher"
    two = suggested(api, people["viewer"], proof=2)[people["x"].handle]
    assert [user["handle"] for user in two["followedBy"]] == [people["c"].handle, people["b"].handle]
    more = suggested(api, people["viewer"], proof=10)[people["x"].handle]
    assert len(more["followedBy"]) == 3, "asked for more than are cached: found in the graph, all three"


def test_follows_that_follow_few_accounts_count_for_more(api: Api) -> None:
    """Two accounts with the same mutual count: the one followed by the viewer's selective follows
    (each follows it alone) ranks above the one followed by follows that follow many (Adamic-Adar).
    The second was made last, so that without closeness the tie would go its way (the more recently
    active)."""
    viewer, narrow_pick, broad_pick = api.sign_up(), api.sign_up(), api.sign_up()
    others = [api.sign_up() for _ in range(10)]
    for _ in range(2):
        selective, broad = api.sign_up(), api.sign_up()
        api.follow(viewer, selective)
        api.follow(viewer, broad)
        api.follow(selective, narrow_pick)
        for account in [broad_pick, *others]:
            api.follow(broad, account)
    found = suggested(api, viewer)
    assert found[narrow_pick.handle]["mutualCount"] == found[broad_pick.handle]["mutualCount"] == 2
    assert found[narrow_pick.handle]["rank"] < found[broad_pick.handle]["rank"]


def test_social_proof_beyond_the_cached_costs_the_same_for_any_number_of_suggestions(
    api: Api, bolt_runs: RunCounter
) -> None:
    """Four accounts each followed by four of the viewer's follows, more than the three proofs
    cached: their followedBy(first: 10) is read in one query for all of them, on a follow list read
    once per request."""
    viewer, _, _ = everyone_follows(api, follows=4, accounts=4)

    def queries(first: int) -> int:
        bolt_runs.runs = 0
        items = api.data(WHO_TO_FOLLOW, {"first": first, "proof": 10}, viewer.token)["whoToFollow"]
        assert [len(item["followedBy"]) for item in items] == [4] * first
        return bolt_runs.runs

    queries(4)  # computes and caches the list
    assert queries(4) == queries(1)


async def test_cached_suggestions_and_their_proof_come_in_one_fetch(
    api: Api, redis: Redis, settings: Settings, bolt_runs: RunCounter
) -> None:
    """With the list cached but no user record, the suggested accounts and their cached social
    proof are read in one Neo4j query, not one for the suggestions and another for the proof."""
    viewer, follows, accounts = everyone_follows(api, follows=3, accounts=2)
    api.data(WHO_TO_FOLLOW, {"first": 2, "proof": 3}, viewer.token)  # computes and caches the list
    keys = Keys(settings.redis_prefix)
    await redis.delete(*(keys.user(from_global_id(account.id, "User")) for account in [*follows, *accounts]))
    bolt_runs.runs = 0
    items = api.data(WHO_TO_FOLLOW, {"first": 2, "proof": 3}, viewer.token)["whoToFollow"]
    assert [len(item["followedBy"]) for item in items] == [3, 3]
    assert bolt_runs.runs == 1


def closeness(*follow_counts: int) -> float:
    """Of followers that follow these many accounts each (Adamic-Adar), rounded to compare."""
    return round(sum(1 / math.log(2 + count) for count in follow_counts), 9)


def proofs_of(found: dict[int, suggestions.Proof]) -> dict[int, tuple[int, tuple[int, ...], float]]:
    return {user: (p.mutual_count, p.followed_by, round(p.closeness, 9)) for user, p in found.items()}


@pytest.mark.parametrize("reads_per_follow", [0, 1_000_000], ids=["viewer side", "candidate side"])
async def test_social_proof_is_the_same_read_from_either_side(
    api: Api, neo4j: AsyncDriver, monkeypatch: pytest.MonkeyPatch, reads_per_follow: int
) -> None:
    """Proofs are read from the candidates' followers or from what the viewer's follows follow,
    whichever the counts say is cheaper: both give the same answer."""
    people = circle(api)
    ids = {name: from_global_id(account.id, "User") for name, account in people.items()}
    monkeypatch.setattr(suggestions, "FOLLOWS_PER_ACCOUNT", reads_per_follow)
    following = await following_newest_first(neo4j, ids["viewer"])
    found = await suggestions.proofs(neo4j, ids["viewer"], following, [ids["x"], ids["y"], ids["b"], ids["viewer"]], 2)
    # a follows 3 accounts (x, y, b), b 2 (x, viewer), c 1 (x).
    assert proofs_of(found) == {
        ids["x"]: (3, (ids["c"], ids["b"]), closeness(3, 2, 1)),
        ids["y"]: (1, (ids["a"],), closeness(3)),
        ids["b"]: (1, (ids["a"],), closeness(3)),
        ids["viewer"]: (1, (ids["b"],), closeness(2)),
    }


@pytest.mark.parametrize("reads_per_follow", [0, 1_000_000], ids=["viewer side", "candidate side"])
async def test_social_proof_counts_only_the_follows_in_the_list_it_was_given(
    api: Api, neo4j: AsyncDriver, monkeypatch: pytest.MonkeyPatch, reads_per_follow: int
) -> None:
    """A follow that committed after the viewer's list was read (or cached) is not in it: neither
    side counts it, where the viewer side used to return a follower the list could not order."""
    people = circle(api)
    ids = {name: from_global_id(account.id, "User") for name, account in people.items()}
    monkeypatch.setattr(suggestions, "FOLLOWS_PER_ACCOUNT", reads_per_follow)
    following = await following_newest_first(neo4j, ids["viewer"])
    api.follow(people["viewer"], people["y"])  # after the list was read
    api.follow(people["y"], people["x"])
    found = await suggestions.proofs(neo4j, ids["viewer"], following, [ids["x"]], 5)
    assert proofs_of(found) == {ids["x"]: (3, (ids["c"], ids["b"], ids["a"]), closeness(3, 2, 1))}


class TestOneFollowExpanded:
    @pytest.fixture
    def settings(self) -> Iterator[Settings]:
        with settings_for_test(suggestions_expand_follows=1) as one:
            yield one

    def test_the_kept_are_ordered_by_exact_mutual_counts(self, api: Api) -> None:
        """Only the newest follow, c, is expanded: x and y are found through it with one mutual
        each, and the bounded counts would put y, the more followed, first. Their exact counts
        (3 and 1) order them."""
        viewer, a, b, c, x, y = (api.sign_up() for _ in range(6))
        for account in (a, b, c):
            api.follow(viewer, account)
            api.follow(account, x)
        api.follow(c, y)
        for _ in range(5):
            api.follow(api.sign_up(), y)
        found = suggested(api, viewer)
        assert (found[x.handle]["mutualCount"], found[y.handle]["mutualCount"]) == (3, 1)
        assert found[x.handle]["rank"] < found[y.handle]["rank"]


@pytest.mark.parametrize(("per_seed", "expected"), [(1, {"newer"}), (2, {"older", "newer"})])
async def test_each_follow_expanded_gives_its_newest_follows(
    api: Api, neo4j: AsyncDriver, per_seed: int, expected: set[str]
) -> None:
    """A follow that follows more than per_seed accounts gives only its newest per_seed."""
    viewer, seed = api.sign_up(), api.sign_up()
    accounts = {"older": api.sign_up(), "newer": api.sign_up()}
    api.follow(viewer, seed)
    api.follow(seed, accounts["older"])
    api.follow(seed, accounts["newer"])
    viewer_id = from_global_id(viewer.id, "User")
    bounds = suggestions.Bounds(expand=10, per_seed=per_seed, per_source=10, acts=10, tags=1, per_tag=10)
    found = await suggestions.candidates(
        neo4j,
        viewer_id,
        await following_newest_first(neo4j, viewer_id),
        [],
        bounds,
        active_since_ms=0,
        dismissed_since_id=0,
    )
    ids = {from_global_id(account.id, "User"): name for name, account in accounts.items()}
    assert {ids[c.user_id] for c in found if c.user_id in ids} == expected


def test_never_the_viewer_nor_those_followed(api: Api) -> None:
    people = circle(api)
    found = suggested(api, people["viewer"])
    assert not {people[n].handle for n in ("viewer", "a", "b", "c")} & found.keys()


def test_followers_not_followed_back_and_shared_hashtags(api: Api) -> None:
    viewer, fan, peer = api.sign_up(), api.sign_up(), api.sign_up()
    api.follow(fan, viewer)
    tag = f"t{viewer.handle}"
    api.tweet(viewer, f"about #{tag}")
    api.tweet(peer, f"also #{tag}")
    found = suggested(api, viewer)
    assert found[fan.handle]["reason"] == "FOLLOWS_YOU"
    assert found[peer.handle]["reason"] == "SHARED_INTERESTS"


def test_dismissal_hides_until_undone(api: Api) -> None:
    people = circle(api)
    viewer, x = people["viewer"], people["x"]
    assert x.handle in suggested(api, viewer)
    assert api.data(DISMISS, {"id": x.id}, viewer.token) == {"dismissSuggestion": True}
    assert api.data(DISMISS, {"id": x.id}, viewer.token) == {"dismissSuggestion": True}, "again: still done"
    assert x.handle not in suggested(api, viewer)
    assert api.data(UNDO, {"id": x.id}, viewer.token) == {"undoDismissSuggestion": True}
    assert x.handle in suggested(api, viewer)


async def test_a_dismissal_is_forgotten_after_180_days(api: Api, neo4j: AsyncDriver) -> None:
    people = circle(api)
    viewer, x = people["viewer"], people["x"]
    api.data(DISMISS, {"id": x.id}, viewer.token)
    assert x.handle not in suggested(api, viewer)
    for days in (179, 181):
        at_ms = int(time.time() * 1000) - days * 86_400_000
        await neo4j.execute_query(
            "MATCH (:User {id: $v})-[d:DISMISSED]->(:User {id: $x}) SET d.id = $edgeId",
            v=from_global_id(viewer.id, "User"),
            x=from_global_id(x.id, "User"),
            edgeId=(at_ms - EPOCH_MS) * MS_DIVISOR,
        )
        api.follow(viewer, api.sign_up())  # drops the viewer's cache
        assert (x.handle in suggested(api, viewer)) == (days > 180), f"dismissed {days} days ago"


def test_opted_out_accounts_leave_at_once(api: Api) -> None:
    people = circle(api)
    viewer, x = people["viewer"], people["x"]
    assert x.handle in suggested(api, viewer)
    profile = "mutation($on: Boolean) { updateProfile(input: {discoverable: $on}) { discoverable } }"
    assert api.data(profile, {"on": False}, x.token) == {"updateProfile": {"discoverable": False}}
    assert x.handle not in suggested(api, viewer), "even from the viewer's cached list"
    api.data(profile, {"on": True}, x.token)
    api.follow(viewer, people["y"])  # drops the viewer's cache
    assert x.handle in suggested(api, viewer)


def test_a_suggestion_shown_in_an_opted_out_ones_place_keeps_its_social_proof(api: Api) -> None:
    """The first suggestions' proof is read with them; the one that moves up when one of those opts
    out (from the cached list) has its proof read too."""
    viewer, first, second = api.sign_up(), api.sign_up(), api.sign_up()
    follows = [api.sign_up() for _ in range(5)]
    for n, follow in enumerate(follows):
        api.follow(viewer, follow)
        api.follow(follow, first if n < 3 else second)
    [top] = api.data(WHO_TO_FOLLOW, {"first": 1, "proof": 3}, viewer.token)["whoToFollow"]
    assert top["user"]["handle"] == first.handle
    api.data("mutation { updateProfile(input: {discoverable: false}) { discoverable } }", {}, first.token)
    [moved_up] = api.data(WHO_TO_FOLLOW, {"first": 1, "proof": 3}, viewer.token)["whoToFollow"]
    assert moved_up["user"]["handle"] == second.handle
    assert [user["handle"] for user in moved_up["followedBy"]] == [follows[4].handle, follows[3].handle]


async def test_inactive_accounts_are_left_out_until_they_post(api: Api, neo4j: AsyncDriver) -> None:
    people = circle(api)
    viewer, x = people["viewer"], people["x"]
    sixty_one_days_ago = int(time.time() * 1000) - 61 * 86_400_000
    await neo4j.execute_query(
        "MATCH (u:User {id: $id}) SET u.activeAt = $at", id=from_global_id(x.id, "User"), at=sixty_one_days_ago
    )
    assert x.handle not in suggested(api, viewer)
    api.tweet(x, "back again")
    api.follow(viewer, people["y"])  # drops the viewer's cache
    assert x.handle in suggested(api, viewer)


@pytest.mark.parametrize("act", ["tweet", "retweet"])
async def test_posting_moves_activity_at_most_hourly(api: Api, neo4j: AsyncDriver, act: str) -> None:
    """Moving activeAt takes the author's node lock, which would make an author's concurrent posts
    wait in turn: a post moves it only when it is an hour old or more."""
    author, other = api.sign_up(), api.sign_up()
    author_id = from_global_id(author.id, "User")

    async def post_after(idle_ms: int) -> tuple[int, int]:
        """(activeAt before, after) a post by an author idle for idle_ms."""
        before = int(time.time() * 1000) - idle_ms
        await neo4j.execute_query("MATCH (u:User {id: $id}) SET u.activeAt = $at", id=author_id, at=before)
        if act == "tweet":
            api.tweet(author, "still here")
        else:
            original = api.tweet(other, "hi")
            api.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": original}, author.token)
        records, _, _ = await neo4j.execute_query("MATCH (u:User {id: $id}) RETURN u.activeAt AS at", id=author_id)
        return before, records[0]["at"]

    before, after = await post_after(30 * 60_000)
    assert after == before
    before, after = await post_after(61 * 60_000)
    assert after > before + 60 * 60_000


def test_a_new_user_gets_popular_accounts(api: Api) -> None:
    star = api.sign_up()
    for _ in range(3):
        api.follow(api.sign_up(), star)
    newcomer = api.sign_up()
    found = suggested(api, newcomer)
    assert found, "never an empty list"
    assert newcomer.handle not in found
    assert {item["reason"] for item in found.values()} == {"POPULAR"}


async def test_the_list_is_cached_until_a_follow_drops_it(api: Api, neo4j: AsyncDriver) -> None:
    people = circle(api)
    viewer, z = people["viewer"], api.sign_up()
    before = suggested(api, viewer)
    # Straight into the graph, as no request would: nothing drops the cached list.
    now_ms = int(time.time() * 1000)
    await neo4j.execute_query(
        """
        MATCH (b:User {id: $b}), (z:User {id: $z})
        CREATE (b)-[:FOLLOWS {key: toString($b) + ':' + toString($z), id: $edgeId}]->(z)
        """,
        b=from_global_id(people["b"].id, "User"),
        z=from_global_id(z.id, "User"),
        edgeId=(now_ms - EPOCH_MS) * MS_DIVISOR,
    )
    assert suggested(api, viewer) == before, "served from the cache"
    api.follow(viewer, people["x"])
    after = suggested(api, viewer)
    assert people["x"].handle not in after
    assert after[z.handle]["mutualCount"] == 1


def test_bad_arguments_and_anonymous_viewers(api: Api) -> None:
    viewer = api.sign_up()
    assert api.error_code(WHO_TO_FOLLOW, {"first": 31}, viewer.token) == "BAD_USER_INPUT"
    assert api.error_code(WHO_TO_FOLLOW, {"first": -1}, viewer.token) == "BAD_USER_INPUT"
    assert api.error_code(WHO_TO_FOLLOW, {"first": 5}) == "UNAUTHENTICATED"
    assert api.error_code(DISMISS, {"id": viewer.id}, viewer.token) == "BAD_USER_INPUT"
    assert api.error_code(DISMISS, {"id": "VXNlcjo5OTk5OTk5OTk"}, viewer.token) == "NOT_FOUND"
    assert api.error_code(DISMISS, {"id": viewer.id}) == "UNAUTHENTICATED"
    assert api.data(WHO_TO_FOLLOW, {"first": 0}, viewer.token) == {"whoToFollow": []}
