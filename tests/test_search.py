"""searchTweets and searchUsers on the real full-text indexes: the grammar's operators, hostile
queries, freshness after posts, edits and deletes, ranking, and paging without gaps or repeats.

The test database is shared, so every test's words, tags and handles carry a marker of their own.
"""

import time
import uuid
from typing import Any

import pytest
from neo4j import AsyncDriver

from graph import search
from graph.snowflake import EPOCH_MS, MS_DIVISOR
from resolvers.ids import from_global_id
from resolvers.search_query import parse_tweet_query
from tests.conftest import Account, Api, RunCounter, leaks

SEARCH_TWEETS = """
query($q: String!, $first: Int, $after: String, $order: SearchOrder) {
  searchTweets(query: $q, first: $first, after: $after, order: $order) {
    edges { cursor node { id text } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SEARCH_USERS = """
query($q: String!, $first: Int, $after: String) {
  searchUsers(query: $q, first: $first, after: $after) {
    edges { cursor node { id handle } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


def tweet_ids(api: Api, query: str, order: str = "LATEST", token: str | None = None) -> list[str]:
    """Every result, page after page."""
    ids: list[str] = []
    after = None
    while True:
        data = api.data(SEARCH_TWEETS, {"q": query, "first": 50, "after": after, "order": order}, token)
        connection = data["searchTweets"]
        ids += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return ids
        after = connection["pageInfo"]["endCursor"]


def pages(api: Api, document: str, field: str, variables: dict[str, Any], size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        connection = api.data(document, variables | {"first": size, "after": after})[field]
        pages.append([edge["node"]["id"] for edge in connection["edges"]])
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]


def search_error(api: Api, query: str, document: str = SEARCH_TWEETS) -> str | None:
    """None when the search answered; else its one error's code, after checking nothing leaked."""
    body = api.execute(document, {"q": query})
    if "errors" not in body:
        return None
    assert leaks(str(body["errors"])) == [], body["errors"]
    assert len(body["errors"]) == 1, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


@pytest.fixture
async def corpus(api: Api, neo4j: AsyncDriver) -> dict[str, Any]:
    """Two authors; each tweet has the marker, so a search with it sees these tweets only (once the
    index has them: a new tweet is found within a second, not at once)."""
    m = marker()
    ada, bob = api.sign_up(), api.sign_up()
    tag = f"t{m}"
    tweets = {
        "a1": api.tweet(ada, f"{m} alpha beta #{tag} @{bob.handle}"),
        "a2": api.tweet(ada, f"{m} alpha gamma"),
        "b1": api.tweet(bob, f"{m} beta delta #{tag}"),
        "b2": api.tweet(bob, f"{m} gamma tb-x 1/2 .net AND"),
    }
    await search.await_searchable(neo4j)
    return {"m": m, "tag": tag, "ada": ada, "bob": bob, **tweets}


def expect(corpus: dict[str, Any], *names: str) -> list[str]:
    """The named tweets, newest first (they were posted in the order a1, a2, b1, b2)."""
    order = ["b2", "b1", "a2", "a1"]
    return [corpus[name] for name in order if name in names]


def test_each_operator_gives_its_results(api: Api, corpus: dict[str, Any]) -> None:
    m, tag, ada, bob = corpus["m"], corpus["tag"], corpus["ada"], corpus["bob"]
    cases = {
        f"{m}": ("a1", "a2", "b1", "b2"),
        f"{m} alpha": ("a1", "a2"),
        f"{m.upper()} ALPHA": ("a1", "a2"),
        f"{m} -alpha": ("b1", "b2"),
        f'{m} "alpha beta"': ("a1",),
        f'{m} "beta alpha"': (),
        f'{m} -"alpha beta"': ("a2", "b1", "b2"),
        f"#{tag}": ("a1", "b1"),
        f"#{tag.upper()}": ("a1", "b1"),
        f"#{tag} -from:{ada.handle}": ("b1",),
        f"#{tag} -alpha": ("b1",),
        f"from:{ada.handle}": ("a1", "a2"),
        f"from:@{ada.handle} -gamma": ("a1",),
        f"from:{ada.handle} {m} gamma": ("a2",),
        f"@{bob.handle}": ("a1",),
        f"{m} -@{bob.handle}": ("a2", "b1", "b2"),
        f"{m} -#{tag}": ("a2", "b2"),
        f"from:{ada.handle} from:{bob.handle}": (),
        f"{m} nothingsuch": (),
    }
    for query, names in cases.items():
        assert tweet_ids(api, query) == expect(corpus, *names), query


def test_lucene_syntax_means_nothing_special(api: Api, corpus: dict[str, Any]) -> None:
    """What neo4j/graphql #1744 and Lucene's parser get wrong: `tb-*` is not NOT, `/` does not
    throw, a leading `.` still finds, and AND is a word."""
    m = corpus["m"]
    for query in [f"{m} tb-*", f"{m} 1/2", f"{m} .net", f"{m} and", f"{m} AND", f"{m} tb-x", f"{m} !.net"]:
        assert tweet_ids(api, query) == expect(corpus, "b2"), query
    assert tweet_ids(api, f"{m} OR alpha") == [], "OR is a word here, and no tweet has it"
    assert tweet_ids(api, f"{m} alpha*") == expect(corpus, "a1", "a2"), "no wildcards: alpha* is the word alpha"
    assert tweet_ids(api, f"{m} (gamma)") == expect(corpus, "a2", "b2")


LUCENE_SPECIALS = ["+", "-", "&&", "||", "!", "(", ")", "{", "}", "[", "]", "^", '"', "~", "*", "?", ":", "\\", "/"]


def hostile_queries() -> list[str]:
    specials = [*LUCENE_SPECIALS, "&", "|", "AND", "OR", "NOT", "TO", "*:*", "\x00", "\u202e"]
    return [
        *specials,
        *(f"a{s}b" for s in specials),
        *(f"{s}word" for s in specials),
        *(f"word{s}" for s in specials),
        "tb-*",
        "a/b",
        '"unbalanced',
        'ab"cd',
        '"\\"',
        "x" * 2_000,
        "",
        "   ",
        "&& || ! ( ) { } [ ] ^ ~ * ? :",
        "from:",
        "from:!!!",
        "from:@",
        "#",
        "@",
        "-",
        "--",
        "- -",
        ".net",
        "word " * 30,
        "#ok " + "-x " * 20,
        "title:foo",
        "text:hello",
        "hello~2",
        "hello^10",
        "[a TO z]",
        "/regex.*/",
    ]


def test_hostile_queries_answer_or_refuse_cleanly(api: Api) -> None:
    for query in hostile_queries():
        for document in (SEARCH_TWEETS, SEARCH_USERS):
            assert search_error(api, query, document) in (None, "BAD_USER_INPUT"), query


def test_refusals_say_why(api: Api) -> None:
    for query in ["", "   ", "&& || !", "-word", '-"a phrase"', "x" * 513, "a " * 17, "from:", "from:bad-handle"]:
        assert search_error(api, query) == "BAD_USER_INPUT", query
    for query in ["", "!!!", "x" * 513]:
        assert search_error(api, query, SEARCH_USERS) == "BAD_USER_INPUT", query
    assert search_error(api, "x" * 512) is None


def test_unbalanced_quote_runs_to_the_end(api: Api, corpus: dict[str, Any]) -> None:
    m = corpus["m"]
    assert tweet_ids(api, f'{m} "alpha beta') == expect(corpus, "a1")
    assert tweet_ids(api, f'{m} "alpha gamma') == expect(corpus, "a2")


async def test_retweets_are_not_results_and_replies_are(api: Api, neo4j: AsyncDriver, corpus: dict[str, Any]) -> None:
    m, ada, bob = corpus["m"], corpus["ada"], corpus["bob"]
    api.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": corpus["a1"]}, bob.token)
    reply = api.tweet(ada, f"{m} epsilon reply", inReplyToId=corpus["b1"])
    await search.await_searchable(neo4j)
    assert tweet_ids(api, f"from:{bob.handle}") == expect(corpus, "b1", "b2")
    assert tweet_ids(api, f"{m} epsilon") == [reply]
    assert tweet_ids(api, f"from:{ada.handle} -alpha") == [reply]


def test_a_new_tweet_is_found_within_a_second_and_edits_and_deletes_at_once(api: Api) -> None:
    m = marker()
    author = api.sign_up()
    tweet = api.tweet(author, f"{m} first words")
    posted = time.monotonic()
    while tweet_ids(api, f"{m} first") != [tweet]:
        assert time.monotonic() - posted < 1.0, "not found within a second of createTweet's answer"
        time.sleep(0.01)
    api.data(
        "mutation($input: EditTweetInput!) { editTweet(input: $input) { id } }",
        {"input": {"id": tweet, "text": f"{m} second words"}},
        author.token,
    )
    assert tweet_ids(api, f"{m} first") == []
    assert tweet_ids(api, f"{m} second") == [tweet]
    api.data("mutation($id: ID!) { deleteTweet(id: $id) { id } }", {"id": tweet}, author.token)
    assert tweet_ids(api, m) == []
    assert tweet_ids(api, f"from:{author.handle}") == []


async def test_awaiting_the_index_makes_a_change_exact(api: Api, neo4j: AsyncDriver) -> None:
    """The index is updated off the commit path: right after a change commits, the old words
    often still find the tweet; once `await_searchable` returns (as editTweet waits for it), never."""
    m = marker()
    tweet_id = from_global_id(api.tweet(api.sign_up(), f"{m} okapi"), "Tweet")
    await search.await_searchable(neo4j)
    words = ["okapi", "giraffe"]
    stale = {"without the wait": 0, "with it": 0}
    for n in range(1, 41):
        waits = n % 2 == 0
        old, new = words[(n - 1) % 2], words[n % 2]
        await neo4j.execute_query("MATCH (t:Tweet {id: $id}) SET t.text = $text", id=tweet_id, text=f"{m} {new}")
        if waits:
            await search.await_searchable(neo4j)
        page = await search.tweets_page(
            neo4j, parse_tweet_query(f"{m} {old}"), "LATEST", None, 5, int(time.time() * 1000)
        )
        stale["with it" if waits else "without the wait"] += tweet_id in [found for _, found in page.items]
        await search.await_searchable(neo4j)
    assert stale["with it"] == 0
    assert stale["without the wait"] > 0, "the index was never behind: this test shows nothing"


def test_a_deleted_tweet_is_not_found_even_before_the_index_drops_it(api: Api) -> None:
    m = marker()
    author = api.sign_up()
    for n in range(20):
        tweet = api.tweet(author, f"{m} number {n}")
        api.data("mutation($id: ID!) { deleteTweet(id: $id) { id } }", {"id": tweet}, author.token)
        assert tweet_ids(api, m) == [], f"deleted tweet {n} was found"


async def test_top_ranks_engagement_against_age(api: Api, neo4j: AsyncDriver) -> None:
    m = marker()
    author, fans = api.sign_up(), [api.sign_up() for _ in range(3)]
    liked = api.tweet(author, f"{m} liked")
    newer = api.tweet(author, f"{m} newer")
    await search.await_searchable(neo4j)
    for fan in fans:
        api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": liked}, fan.token)
    assert tweet_ids(api, m, "TOP") == [liked, newer]
    assert tweet_ids(api, m, "LATEST") == [newer, liked]
    assert tweet_ids(api, f"#nothing{m} {m}", "TOP") == []


@pytest.mark.parametrize("order", ["LATEST", "TOP"])
async def test_pages_have_no_gap_and_no_repeat(api: Api, neo4j: AsyncDriver, order: str) -> None:
    m = marker()
    author, fan = api.sign_up(), api.sign_up()
    made = [api.tweet(author, f"{m} number {n}") for n in range(7)]
    await search.await_searchable(neo4j)
    api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": made[2]}, fan.token)
    whole = tweet_ids(api, m, order)
    assert sorted(whole) == sorted(made)
    for size in (1, 2, 3):
        split = pages(api, SEARCH_TWEETS, "searchTweets", {"q": m, "order": order}, size)
        assert [tweet for page in split for tweet in page] == whole, size
    first_page = api.data(SEARCH_TWEETS, {"q": m, "first": 3, "order": order})["searchTweets"]
    cursor = first_page["pageInfo"]["endCursor"]
    later = api.tweet(author, f"{m} number 7")  # as relevant as the others, and newer
    await search.await_searchable(neo4j)
    rest = api.data(SEARCH_TWEETS, {"q": m, "first": 50, "after": cursor, "order": order})["searchTweets"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == whole[3:], "a new tweet shifts nothing after a cursor"
    assert later in tweet_ids(api, m, order)


def test_a_cursor_of_another_kind_is_refused(api: Api, corpus: dict[str, Any]) -> None:
    m = corpus["m"]
    top = api.data(SEARCH_TWEETS, {"q": m, "first": 1, "order": "TOP"})["searchTweets"]["pageInfo"]["endCursor"]
    latest = api.data(SEARCH_TWEETS, {"q": m, "first": 1})["searchTweets"]["pageInfo"]["endCursor"]
    assert api.error_code(SEARCH_TWEETS, {"q": m, "after": top}) == "BAD_USER_INPUT"
    assert api.error_code(SEARCH_TWEETS, {"q": m, "after": latest, "order": "TOP"}) == "BAD_USER_INPUT"
    assert api.error_code(SEARCH_TWEETS, {"q": m, "first": 101}) == "BAD_USER_INPUT"


def handles(api: Api, query: str, token: str | None = None) -> list[str]:
    data = api.data(SEARCH_USERS, {"q": query, "first": 50}, token)
    return [edge["node"]["handle"] for edge in data["searchUsers"]["edges"]]


def set_name(api: Api, account: Account, name: str) -> None:
    api.data(
        "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }",
        {"input": {"displayName": name}},
        account.token,
    )


def test_users_by_prefix_of_handle_or_name_without_case_or_accents(api: Api) -> None:
    m = marker()[:9]
    zoe, other = api.sign_up(f"{m}_z"), api.sign_up(f"x{m}")
    set_name(api, zoe, f"Zoë Ångström {m}")
    set_name(api, other, f"The Rock {m}")
    assert handles(api, f"{m}_z") == [zoe.handle]
    assert handles(api, f"@{m.upper()}") == [zoe.handle, other.handle], "a match on the handle counts twice"
    assert handles(api, f"zoe {m}") == [zoe.handle]
    assert handles(api, f"ZOË {m}") == [zoe.handle]
    assert handles(api, f"angst {m}") == [zoe.handle]
    assert handles(api, f"the {m}") == [other.handle], "stop words are names too"
    assert handles(api, f"roc {m[:5]}") == [other.handle]
    assert handles(api, f"x{m}") == [other.handle]
    set_name(api, zoe, f"Renamed {m}")
    assert handles(api, f"zoe {m}") == []
    assert handles(api, f"renamed {m}") == [zoe.handle]


def test_users_rank_exact_handle_then_followers_with_follows_boosted(api: Api) -> None:
    m = marker()[:9]
    exact, popular, plain = api.sign_up(m), api.sign_up(f"{m}p"), api.sign_up(f"{m}q")
    for _ in range(3):
        api.follow(api.sign_up(), popular)
    viewer = api.sign_up()
    assert handles(api, m) == [exact.handle, popular.handle, plain.handle]
    api.follow(viewer, plain)
    assert handles(api, m, viewer.token) == [exact.handle, plain.handle, popular.handle]
    split = pages(api, SEARCH_USERS, "searchUsers", {"q": m}, 1)
    assert [user for page in split for user in page] == [
        edge["node"]["id"] for edge in api.data(SEARCH_USERS, {"q": m})["searchUsers"]["edges"]
    ]
    assert len(split) == 3


async def test_the_viewers_follow_list_is_cached_until_their_follow_or_unfollow(
    api: Api, neo4j: AsyncDriver, bolt_runs: RunCounter
) -> None:
    """Typeahead boosts the accounts the viewer follows, from their follow list: cached, so a
    search is one Neo4j query, and dropped by each follow and unfollow of theirs."""
    m = marker()[:9]
    exact, popular, plain = api.sign_up(m), api.sign_up(f"{m}p"), api.sign_up(f"{m}q")
    for _ in range(3):
        api.follow(api.sign_up(), popular)
    viewer = api.sign_up()
    assert handles(api, m, viewer.token) == [exact.handle, popular.handle, plain.handle]  # caches []
    api.follow(viewer, plain)
    assert handles(api, m, viewer.token) == [exact.handle, plain.handle, popular.handle]
    bolt_runs.runs = 0
    handles(api, m, viewer.token)
    assert bolt_runs.runs == 1, "the search alone: the follow list came from the cache"
    # Straight into the graph, as no request would: nothing drops the cached list.
    viewer_id, popular_id = from_global_id(viewer.id, "User"), from_global_id(popular.id, "User")
    await neo4j.execute_query(
        """
        MATCH (v:User {id: $v}), (p:User {id: $p})
        CREATE (v)-[:FOLLOWS {key: toString($v) + ':' + toString($p), id: $edgeId}]->(p)
        """,
        v=viewer_id,
        p=popular_id,
        edgeId=(int(time.time() * 1000) - EPOCH_MS) * MS_DIVISOR,
    )
    assert handles(api, m, viewer.token) == [exact.handle, plain.handle, popular.handle], "served from the cache"
    api.data("mutation($id: ID!) { unfollow(userId: $id) { id } }", {"id": plain.id}, viewer.token)
    assert handles(api, m, viewer.token) == [exact.handle, popular.handle, plain.handle]


async def test_typeahead_reads_the_widest_reach_first(
    api: Api, neo4j: AsyncDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short prefix can match more accounts than are read: the most followed, made last, is read
    first all the same, and a followed account that no read reached is still found. Reach follows
    each follow and unfollow."""
    m = marker()[:9]
    plain = [api.sign_up(f"{m}{n}") for n in range(3)]
    star, viewer = api.sign_up(f"{m}star"), api.sign_up()
    fans = [api.sign_up() for _ in range(10)]
    for fan in fans:
        api.follow(fan, star)

    async def reach() -> str:
        records, _, _ = await neo4j.execute_query(
            "MATCH (u:User {id: $id}) RETURN u.reach AS reach", id=from_global_id(star.id, "User")
        )
        return str(records[0]["reach"])

    assert await reach() == "2"
    monkeypatch.setattr(search, "USERS_SCANNED", 1)
    assert handles(api, m) == [star.handle]
    api.follow(viewer, plain[0])
    assert handles(api, m, viewer.token) == [plain[0].handle, star.handle], "the follow boosted above the star"
    api.data("mutation($id: ID!) { unfollow(userId: $id) { id } }", {"id": star.id}, fans[0].token)
    assert await reach() == "1"


async def test_latest_reads_back_through_slices_of_days(api: Api, neo4j: AsyncDriver) -> None:
    """Tweets spread over today, this week and long ago (their indexed day set straight in the
    graph, newest id newest day): every page size reads them all in order, across the slices."""
    m = marker()
    author = api.sign_up()
    made = [api.tweet(author, f"{m} spread {n}") for n in range(6)]
    today = int(time.time() * 1000) // 86_400_000
    for tweet, age in zip(made, (60, 20, 8, 5, 1, 0), strict=True):
        await neo4j.execute_query(
            "MATCH (t:Tweet {id: $id}) SET t.day = $day", id=from_global_id(tweet, "Tweet"), day=f"{today - age:06d}"
        )
    await search.await_searchable(neo4j)
    newest_first = made[::-1]
    assert tweet_ids(api, m) == newest_first
    for size in (1, 2, 3, 4):
        split = pages(api, SEARCH_TWEETS, "searchTweets", {"q": m}, size)
        assert [tweet for page in split for tweet in page] == newest_first, size
        assert all(len(page) == size for page in split[:-1]), size
    top = tweet_ids(api, m, "TOP")
    assert made[0] not in top, "TOP ranks the last 30 days"
    assert made[1] in top
