"""Tweet and user search: terms read by Chirp's own grammar (resolvers/search_query.py) become
quoted, escaped Lucene phrases or Cypher parameters, never Lucene syntax of the user's.

Tweets: words, phrases, hashtags and mentions are all looked up in the full-text index (a
tweet's text has its #tag and @handle as words), then hashtags, mentions and authors are checked
on their edges; a query with none of the first four starts from its author's tweets. Retweets
are never results (their original is); replies are. A deleted tweet is gone from the index and
the graph in its own transaction, so it is never found.

Lucene orders by score, not time, so newest-first would sort every match. Each tweet is indexed
with its day as well, and LATEST reads back in slices of days, as Earlybird reads its time-sliced
segments: the cursor's day (or today) and after, then the week before, then all before that. A
common word fills the page from the first slice, sorting one day's matches; a word that reaches
the last slice had fewer than a page in the week before it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from neo4j import AsyncDriver

from graph.pages import fetch_page
from graph.records import CursorKey, Page
from graph.snowflake import MS_DIVISOR, timestamp_ms

Order = Literal["LATEST", "TOP"]

# TOP ranks by engagement and recency, then relevance: every result already has every included
# word. The score is ln(1 + likes + 2 retweets + replies) + ln 2 per day of the tweet's time
# + a quarter of the share of the text the words make up. So a day's age costs a doubling of
# engagement (a half-life of one day), relevance is worth at most about six hours, and the order
# between two tweets never depends on when the query runs: cursors stay valid. Each score depends
# only on its tweet (no corpus statistics, which move as tweets are indexed), so pages neither skip
# nor repeat while counts stand.
TOP_DAYS = 30  # TOP ranks the matches of these last days (older ones would need 2^30 the engagement)
DAY_MS = 86_400_000
RANK_SCALE = 1_000_000  # ranks are integers in cursors: micro-units of the score
LN2_PER_MS = math.log(2) / 86_400_000


@dataclass(frozen=True)
class TweetSearch:
    """A parsed tweet query, as lists of values (text as written; tags and handles lower-cased)."""

    words: Sequence[str]
    excluded_words: Sequence[str]
    hashtags: Sequence[str]
    excluded_hashtags: Sequence[str]
    mentions: Sequence[str]
    excluded_mentions: Sequence[str]
    authors: Sequence[str]
    excluded_authors: Sequence[str]


def lucene_phrase(text: str) -> str:
    """A quoted phrase: inside quotes only a quote and a backslash mean anything to Lucene's parser,
    so with both escaped the text is only ever analysed into words (`a/b` is the phrase "a b")."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lucene_all(words: Sequence[str], excluded: Sequence[str] = ()) -> str:
    """Every word or phrase required of the text, every excluded one refused."""
    required = [f"+text:{lucene_phrase(word)}" for word in words]
    return " ".join(required + [f"-text:{lucene_phrase(word)}" for word in excluded])


def day_of(unix_ms: int) -> str:
    """A tweet's day as indexed beside its text: days since 1970, six digits, so that a range of
    days compares as text does (Lucene's ranges on a text field)."""
    return f"{unix_ms // DAY_MS:06d}"


def days(low: int | None, high: int | None) -> str:
    return f"+day:[{'*' if low is None else f'{low:06d}'} TO {'*' if high is None else f'{high:06d}'}]"


def text_terms(search: TweetSearch) -> list[str]:
    """What the index is asked for: the words and phrases, and the hashtags' and mentions' words."""
    return [*search.words, *search.hashtags, *search.mentions]


# Tweets' words, kept up to date off the commit path (`fulltext.eventually_consistent`): kept in each
# commit, the index stalled search for seconds under 50 posts a second (p99 up to 8.8 s from a post
# to its being found), against 0.1-0.4 s off it. A deleted tweet is never found all the same (Neo4j
# drops the results whose node is gone); an edit waits for the index (`await_searchable`).
TWEET_INDEX = "tweet_words"
FROM_TEXT = f"CALL db.index.fulltext.queryNodes('{TWEET_INDEX}', $lucene) YIELD node AS t"
FROM_AUTHOR = "MATCH (:User {handleLower: $authors[0]})-[:POSTED]->(t:Tweet)"


# Every term other than the starting one, as filters; empty lists filter nothing.
FILTERS = """
WHERE t.retweetKey IS NULL
  AND NOT t.id IN excludedIds
  AND all(tag IN $hashtags WHERE EXISTS { (t)-[:TAGGED]->(:Hashtag {tag: tag}) })
  AND none(tag IN $excludedHashtags WHERE EXISTS { (t)-[:TAGGED]->(:Hashtag {tag: tag}) })
  AND all(handle IN $mentions WHERE EXISTS { (t)-[:MENTIONS]->(:User {handleLower: handle}) })
  AND none(handle IN $excludedMentions WHERE EXISTS { (t)-[:MENTIONS]->(:User {handleLower: handle}) })
  AND all(handle IN $authors WHERE EXISTS { (:User {handleLower: handle})-[:POSTED]->(t) })
  AND none(handle IN $excludedAuthors WHERE EXISTS { (:User {handleLower: handle})-[:POSTED]->(t) })
"""

# Excluded words are part of the Lucene query when words start it; otherwise the tweets having any
# of them are found once, up front.
EXCLUDED_IDS = f"""
CALL () {{
  CALL db.index.fulltext.queryNodes('{TWEET_INDEX}', $excludedLucene) YIELD node
  RETURN collect(node.id) AS excludedIds
}}
"""
NO_EXCLUDED_IDS = "WITH t, [] AS excludedIds"

LATEST_PAGE = """
WITH t WHERE $after IS NULL OR t.id < $after
WITH t ORDER BY t.id DESC LIMIT $limit
RETURN collect([t.id, t.id]) AS items
"""

TOP_PAGE = """
WITH t, COUNT { (t)<-[:LIKED]-() } + 2 * COUNT { (t)<-[:RETWEET_OF]-() } + COUNT { (t)<-[:REPLY_TO]-() } AS engagement
WITH t, toInteger(round($scale * (
  log(1 + engagement) + $ln2PerMs * (t.id / $msDivisor)
  + 0.25 * CASE WHEN size(t.text) <= $wordChars THEN 1.0 ELSE toFloat($wordChars) / size(t.text) END
))) AS rank
WITH t, rank WHERE $afterRank IS NULL OR rank < $afterRank OR (rank = $afterRank AND t.id < $afterId)
WITH t, rank ORDER BY rank DESC, t.id DESC LIMIT $limit
RETURN collect([[rank, t.id], t.id]) AS items
"""


async def tweets_page(
    driver: AsyncDriver,
    search: TweetSearch,
    order: Order,
    after: int | tuple[int, int] | None,
    limit: int,
    now_ms: int,
) -> Page:
    """Newest first (LATEST; cursor keys are tweet ids) or by rank (TOP, over the last TOP_DAYS;
    keys are (rank, id))."""
    by_text = bool(text_terms(search))
    excluded_up_front = not by_text and bool(search.excluded_words)
    cypher = "\n".join(
        [
            EXCLUDED_IDS if excluded_up_front else "",
            FROM_TEXT if by_text else FROM_AUTHOR,
            "WITH t, excludedIds" if excluded_up_front else NO_EXCLUDED_IDS,
            FILTERS,
            LATEST_PAGE if order == "LATEST" else TOP_PAGE,
        ]
    )
    ranked = after if isinstance(after, tuple) else (None, None)
    base = lucene_all(text_terms(search), search.excluded_words)

    async def page(count: int, day_range: str) -> Page:
        return await fetch_page(
            driver,
            cypher,
            count,
            lucene=f"{base} {day_range}",
            excludedLucene=" ".join(f"text:{lucene_phrase(word)}" for word in search.excluded_words),
            hashtags=list(search.hashtags),
            excludedHashtags=list(search.excluded_hashtags),
            mentions=list(search.mentions),
            excludedMentions=list(search.excluded_mentions),
            authors=list(search.authors),
            excludedAuthors=list(search.excluded_authors),
            after=after if isinstance(after, int) else None,
            afterRank=ranked[0],
            afterId=ranked[1],
            scale=RANK_SCALE,
            ln2PerMs=LN2_PER_MS,
            msDivisor=MS_DIVISOR,
            wordChars=sum(len(word) for word in search.words),
        )

    today = now_ms // DAY_MS
    if not by_text:
        return await page(limit, "")
    if order == "TOP":
        return await page(limit, days(today - TOP_DAYS + 1, None))
    day = (timestamp_ms(after) if isinstance(after, int) else now_ms) // DAY_MS
    items: list[tuple[CursorKey, int]] = []
    for low, high in ((day, None), (day - 7, day - 1), (None, day - 8)):
        found = await page(limit - len(items), days(low, high))
        items += found.items
        if found.has_next:
            return Page(items=tuple(items), has_next=True)
    return Page(items=tuple(items), has_next=False)


async def await_searchable(driver: AsyncDriver) -> None:
    """Returns once every committed change is in the tweet index: an edit answers only then, so
    that its old words no longer find it and its new ones do."""
    await driver.execute_query("CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()")


LUCENE_SPECIAL = frozenset('+-&|!(){}[]^"~*?:\\/ ')

# A short prefix can match most accounts: the ranking reads at most this many of the index's matches
# (plus the exact handle and the viewer's newest follows that match), the widest reaches first
# (graph/follows.py: a reach is the number of digits of the follower count), so that typing one
# letter costs what three do and still finds the most followed.
USERS_SCANNED = 200
REACHES = [str(digits) for digits in range(10, 0, -1)]

# Users: the typed words must each start a word of the handle or of the folded display name.
# The exact handle comes first; then match (on the handle counts twice) times popularity
# (log10 of followers, as Mastodon ranks accounts), doubled for accounts the viewer follows.
USERS_PAGE = """
CALL () {
  UNWIND $reaches AS reach
  CALL (reach) {
    CALL db.index.fulltext.queryNodes('user_lookup', $lucene + ' +reach:' + reach, {limit: $scanned}) YIELD node
    RETURN node
  }
  WITH node LIMIT $scanned
  RETURN node AS u
  UNION
  MATCH (u:User {handleLower: $exact})
  RETURN u
  UNION
  UNWIND $following[..$scanned] AS followedId
  MATCH (u:User {id: followedId})
  WHERE all(word IN $words WHERE u.handleLower STARTS WITH word
                            OR any(part IN split(u.nameKey, ' ') WHERE part STARTS WITH word))
  RETURN u
}
WITH u, u.handleLower = $exact AS exact, u.handleLower STARTS WITH $words[0] AS onHandle,
     COUNT { (u)<-[:FOLLOWS]-() } AS followers, u.id IN $following AS followed
WITH u, toInteger(round($scale * (
  CASE WHEN exact THEN 1000.0 ELSE 0.0 END
  + CASE WHEN onHandle THEN 2.0 ELSE 1.0 END * (1 + log10(followers + 1)) * CASE WHEN followed THEN 2.0 ELSE 1.0 END
))) AS rank
WITH u, rank WHERE $afterRank IS NULL OR rank < $afterRank OR (rank = $afterRank AND u.id > $afterId)
WITH u, rank ORDER BY rank DESC, u.id ASC LIMIT $limit
RETURN collect([[rank, u.id], u.id]) AS items
"""


async def users_page(
    driver: AsyncDriver, words: Sequence[str], following: Sequence[int], after: tuple[int, int] | None, limit: int
) -> Page:
    """Typeahead over handles and display names; `words` are folded, `following` the viewer's
    follows (a list Cypher turns into a set: a prefix can match thousands of accounts, and a
    pattern per account would read each one's followers), cursor keys are (rank, id)."""
    return await fetch_page(
        driver,
        USERS_PAGE,
        limit,
        lucene=" ".join(f"+(handleLower:{_lucene_prefix(word)} nameKey:{_lucene_prefix(word)})" for word in words),
        reaches=REACHES,
        exact=words[0] if len(words) == 1 else "",
        words=list(words),
        following=list(following),
        scanned=USERS_SCANNED,
        afterRank=None if after is None else after[0],
        afterId=None if after is None else after[1],
        scale=RANK_SCALE,
    )


def _lucene_prefix(word: str) -> str:
    """A prefix query on one word: Lucene's special characters escaped, then the wildcard."""
    return "".join(f"\\{c}" if c in LUCENE_SPECIAL else c for c in word) + "*"
