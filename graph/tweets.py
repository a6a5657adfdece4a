"""Tweets: (:User)-[:POSTED]->(:Tweet), with REPLY_TO, TAGGED and MENTIONS edges.

Counts are relationship degrees (likes, retweets, replies), read in O(1) from the store:
there is no counter property for concurrent writers to queue on.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from errors import BadInput, Forbidden, NotFound
from graph.batches import fill_in_batches
from graph.lookup import records_by_ids
from graph.outbox import After, Entry, write
from graph.pages import fetch_page
from graph.records import Page, TweetRecord
from graph.search import DAY_MS, day_of
from graph.snowflake import EPOCH_MS, MS_DIVISOR, timestamp_ms

# An author's activeAt (who-to-follow's inactivity filter, 60 days) moves at most this often: setting
# it takes the author's node lock, which would make one author's concurrent posts wait in turn.
ACTIVE_STEP_MS = 3_600_000

TWEET_PROJECTION = """
t {
  .id, .authorId, .text, .editedAt, .hashtags, .answersUserId,
  retweetOfId: [(t)-[:RETWEET_OF]->(o:Tweet) | o.id][0],
  inReplyToId: [(t)-[:REPLY_TO]->(p:Tweet) | p.id][0],
  mentionIds: COLLECT { MATCH (t)-[m:MENTIONS]->(u:User) RETURN u.id ORDER BY m.position },
  mediaIds: COLLECT { MATCH (t)-[h:HAS_MEDIA]->(m:Media) RETURN m.id ORDER BY h.position },
  likeCount: COUNT { (t)<-[:LIKED]-() },
  retweetCount: COUNT { (t)<-[:RETWEET_OF]-() },
  replyCount: COUNT { (t)<-[:REPLY_TO]-() }
}
"""


# Expects t bound, $hashtags (as written) and $mentions (handles, in order of appearance).
TAGS_AND_MENTIONS = """
CALL (t) {
  UNWIND $hashtags AS tag
  MERGE (h:Hashtag {tag: toLower(tag)})
  MERGE (t)-[:TAGGED]->(h)
}
CALL (t) {
  UNWIND range(0, size($mentions) - 1) AS position
  MATCH (u:User {handleLower: toLower($mentions[position])})
  CREATE (t)-[:MENTIONS {position: position}]->(u)
}
"""


def tweet_record(row: dict[str, Any]) -> TweetRecord:
    edited_at = row["editedAt"]
    return TweetRecord(
        id=row["id"],
        author_id=row["authorId"],
        text=row["text"],
        edited_at=edited_at.to_native() if edited_at is not None else None,
        retweet_of_id=row["retweetOfId"],
        in_reply_to_id=row["inReplyToId"],
        answers_user_id=row["answersUserId"],
        hashtags=tuple(row["hashtags"] or ()),
        mention_ids=tuple(row["mentionIds"]),
        media_ids=tuple(row["mediaIds"]),
        like_count=row["likeCount"],
        retweet_count=row["retweetCount"],
        reply_count=row["replyCount"],
    )


@dataclass(frozen=True)
class NewTweet:
    id: int
    author_id: int
    text: str
    hashtags: Sequence[str]
    mention_handles: Sequence[str]
    in_reply_to_id: int | None
    idempotency_key: str | None
    # Checked beforehand (resolvers/media.py): the author's own uploads, in a valid combination.
    media_ids: Sequence[int] = ()


async def tweets_by_ids(driver: AsyncDriver, ids: Sequence[int]) -> dict[int, TweetRecord]:
    return await records_by_ids(driver, "t:Tweet", TWEET_PROJECTION, tweet_record, ids)


async def subject_id(driver: AsyncDriver, tweet_id: int) -> int:
    """The tweet itself, or the one it retweets: what a like, retweet or reply of it is aimed at."""
    records, _, _ = await driver.execute_query(
        "MATCH (t:Tweet {id: $id}) OPTIONAL MATCH (t)-[:RETWEET_OF]->(o:Tweet) RETURN coalesce(o.id, t.id) AS id",
        id=tweet_id,
        routing_="r",
    )
    if not records:
        raise NotFound("no such tweet")
    return int(records[0]["id"])


def idempotency_token(author_id: int, key: str) -> str:
    """Keys are per author: two users may use the same key."""
    return f"{author_id}:{key}"


async def create_tweet(driver: AsyncDriver, tweet: NewTweet, after: After[int]) -> tuple[int, Entry | None]:
    """Writes the tweet, its edges and the outbox entry `after` makes of its id in one transaction:
    (tweet id, the entry, or None when the tweet was there already).

    A retry with the same idempotency key returns the first tweet's id and creates nothing,
    even when the retries race (the key is unique in the store).
    """
    token = idempotency_token(tweet.author_id, tweet.idempotency_key) if tweet.idempotency_key else None
    if token is not None and (existing := await _tweet_by_idempotency_token(driver, token)) is not None:
        return existing, None

    async def work(tx: AsyncManagedTransaction) -> int:
        await _create_tweet(tx, tweet, token)
        return tweet.id

    try:
        return await write(driver, work, after)
    except ConstraintError:
        if token is None or (existing := await _tweet_by_idempotency_token(driver, token)) is None:
            raise
        return existing, None


async def _tweet_by_idempotency_token(driver: AsyncDriver, token: str) -> int | None:
    records, _, _ = await driver.execute_query(
        "MATCH (t:Tweet {idempotencyToken: $token}) RETURN t.id AS id", token=token
    )
    return records[0]["id"] if records else None


async def _create_tweet(tx: AsyncManagedTransaction, tweet: NewTweet, token: str | None) -> None:
    if tweet.in_reply_to_id is not None:
        parent = await tx.run("MATCH (p:Tweet {id: $id}) RETURN p.id AS id", id=tweet.in_reply_to_id)
        if await parent.single() is None:
            raise NotFound("the tweet replied to does not exist")
    result = await tx.run(
        """
        MATCH (a:User {id: $authorId})
        CREATE (a)-[:POSTED]->(t:Tweet {id: $id, authorId: $authorId, text: $text, hashtags: $hashtags,
                                       day: $day, idempotencyToken: $token})
        WITH a, t
        CALL (a) {
          WITH a WHERE coalesce(a.activeAt, 0) < timestamp() - $activeStepMs
          SET a.activeAt = timestamp()
        }
        CALL (t) {
          MATCH (p:Tweet {id: $inReplyToId})
          CREATE (t)-[:REPLY_TO]->(p)
          SET t.answersUserId = p.authorId
        }
        CALL (a, t) {
          UNWIND range(0, size($mediaIds) - 1) AS position
          MATCH (a)-[:UPLOADED]->(m:Media {id: $mediaIds[position]})
          CREATE (t)-[:HAS_MEDIA {position: position}]->(m)
        }
        """
        + TAGS_AND_MENTIONS
        + """
        RETURN t.id AS id
        """,
        id=tweet.id,
        authorId=tweet.author_id,
        text=tweet.text,
        day=day_of(timestamp_ms(tweet.id)),
        hashtags=list(tweet.hashtags),
        mentions=list(tweet.mention_handles),
        inReplyToId=tweet.in_reply_to_id,
        mediaIds=list(tweet.media_ids),
        token=token,
        activeStepMs=ACTIVE_STEP_MS,
    )
    if await result.single() is None:
        raise NotFound("no such author")


async def edit_tweet(
    driver: AsyncDriver,
    *,
    tweet_id: int,
    editor_id: int,
    text: str,
    hashtags: Sequence[str],
    mention_handles: Sequence[str],
    edited_at: datetime,
    after: After[None],
) -> Entry | None:
    """The outbox entry recorded with the edit."""

    async def work(tx: AsyncManagedTransaction) -> None:
        await _edit_tweet(tx, tweet_id, editor_id, text, list(hashtags), list(mention_handles), edited_at)

    _, entry = await write(driver, work, after)
    return entry


async def _edit_tweet(
    tx: AsyncManagedTransaction,
    tweet_id: int,
    editor_id: int,
    text: str,
    hashtags: list[str],
    mentions: list[str],
    edited_at: datetime,
) -> None:
    if await _check_author(tx, tweet_id, editor_id):
        raise BadInput("a retweet has no text to edit")
    await tx.run(
        """
        MATCH (t:Tweet {id: $id})
        SET t.text = $text, t.hashtags = $hashtags, t.editedAt = $editedAt
        WITH t
        CALL (t) {
          MATCH (t)-[r:TAGGED|MENTIONS]->()
          DELETE r
        }
        """
        + TAGS_AND_MENTIONS,
        id=tweet_id,
        text=text,
        hashtags=hashtags,
        mentions=mentions,
        editedAt=edited_at,
    )


async def _check_author(tx: AsyncManagedTransaction, tweet_id: int, user_id: int) -> bool:
    """Raises NotFound or Forbidden; True when the tweet is a retweet."""
    result = await tx.run(
        "MATCH (t:Tweet {id: $id}) RETURN t.authorId AS author, EXISTS { (t)-[:RETWEET_OF]->() } AS retweet",
        id=tweet_id,
    )
    row = await result.single()
    if row is None:
        raise NotFound("no such tweet")
    if row["author"] != user_id:
        raise Forbidden("only the author may change this tweet")
    return bool(row["retweet"])


@dataclass(frozen=True)
class Deleted:
    tweet_id: int
    author_id: int
    retweet_of_id: int | None
    in_reply_to_id: int | None
    hashtags: tuple[str, ...]  # as written; a retweet has none of its own


async def delete_tweet(
    driver: AsyncDriver, tweet_id: int, user_id: int, after: After[list[Deleted]]
) -> tuple[list[Deleted], Entry | None]:
    """Deletes the tweet and every retweet of it; replies stay, answering nothing. The tweet comes
    first. The outbox entry `after` makes of what went is recorded in the same transaction."""
    return await write(driver, lambda tx: _delete_tweet(tx, tweet_id, user_id), after)


async def _delete_tweet(tx: AsyncManagedTransaction, tweet_id: int, user_id: int) -> list[Deleted]:
    await _check_author(tx, tweet_id, user_id)
    result = await tx.run(
        """
        MATCH (t:Tweet {id: $id})
        OPTIONAL MATCH (t)-[:RETWEET_OF]->(o:Tweet)
        OPTIONAL MATCH (t)-[:REPLY_TO]->(p:Tweet)
        OPTIONAL MATCH (t)<-[:RETWEET_OF]-(r:Tweet)
        WITH t, o, p, collect(r) AS retweets
        WITH t, retweets,
             [{tweet: t.id, author: t.authorId, retweetOf: o.id, inReplyTo: p.id, hashtags: coalesce(t.hashtags, [])}]
             + [r IN retweets | {tweet: r.id, author: r.authorId, retweetOf: t.id, inReplyTo: null, hashtags: []}]
             AS gone
        FOREACH (r IN retweets | DETACH DELETE r)
        DETACH DELETE t
        RETURN gone
        """,
        id=tweet_id,
    )
    row = await result.single(strict=True)  # the tweet was matched by _check_author in this transaction
    return [
        Deleted(item["tweet"], item["author"], item["retweetOf"], item["inReplyTo"], tuple(item["hashtags"]))
        for item in row["gone"]
    ]


async def user_tweets_page(driver: AsyncDriver, user_id: int, after: int | None, limit: int) -> Page:
    """The user's tweets, retweets and replies, newest first; cursor keys are tweet ids."""
    return await fetch_page(
        driver,
        """
        MATCH (:User {id: $id})-[:POSTED]->(t:Tweet)
        WHERE $after IS NULL OR t.id < $after
        WITH t ORDER BY t.id DESC LIMIT $limit
        RETURN collect([t.id, t.id]) AS items
        """,
        limit,
        id=user_id,
        after=after,
    )


async def replies_page(driver: AsyncDriver, tweet_id: int, after: int | None, limit: int) -> Page:
    """Replies in conversation order, oldest first; cursor keys are tweet ids."""
    return await fetch_page(
        driver,
        """
        MATCH (:Tweet {id: $id})<-[:REPLY_TO]-(r:Tweet)
        WHERE $after IS NULL OR r.id > $after
        WITH r ORDER BY r.id ASC LIMIT $limit
        RETURN collect([r.id, r.id]) AS items
        """,
        limit,
        id=tweet_id,
        after=after,
    )


async def fill_tweet_days(driver: AsyncDriver) -> None:
    """Tweets made before search sliced by day get their day (a migration step; graph/search.py)."""
    await fill_in_batches(
        driver,
        """
        MATCH (t:Tweet) WHERE t.day IS NULL
        WITH t LIMIT 10000
        SET t.day = right('000000' + toString((t.id / $msDivisor + $epoch) / $dayMs), 6)
        RETURN count(*) AS filled
        """,
        msDivisor=MS_DIVISOR,
        epoch=EPOCH_MS,
        dayMs=DAY_MS,
    )
