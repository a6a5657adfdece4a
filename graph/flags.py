"""What a viewer has done to tweets (liked, retweeted): for a page of them in one query, or all
recent ones at once (to fill the cache in feeds/viewer_acts.py).

Each answer is an index lookup on a like's or a retweet's unique key.
"""

from collections.abc import Sequence

from neo4j import AsyncDriver

from graph.likes import like_key
from graph.retweets import retweet_key


async def viewer_flags(driver: AsyncDriver, user_id: int, tweet_ids: Sequence[int]) -> dict[int, tuple[bool, bool]]:
    """{tweet: (liked, retweeted)} for each of the tweets."""
    records, _, _ = await driver.execute_query(
        """
        UNWIND $lookups AS lookup
        WITH lookup,
             EXISTS { MATCH ()-[:LIKED {key: lookup.like}]->() } AS liked,
             EXISTS { MATCH (:Tweet {retweetKey: lookup.retweet}) } AS retweeted
        RETURN collect([lookup.id, liked, retweeted]) AS flags
        """,
        lookups=[
            {"id": tweet_id, "like": like_key(user_id, tweet_id), "retweet": retweet_key(user_id, tweet_id)}
            for tweet_id in tweet_ids
        ],
        routing_="r",
    )
    return {tweet_id: (liked, retweeted) for tweet_id, liked, retweeted in records[0]["flags"]}


async def acts_since(driver: AsyncDriver, user_id: int, since_id: int) -> dict[int, tuple[bool, bool]]:
    """{tweet: (liked, retweeted)} for every tweet from since_id on that the user liked or retweeted."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (u:User {id: $userId})
        CALL (u) {
          MATCH (u)-[:LIKED]->(t:Tweet) WHERE t.id >= $since RETURN t.id AS id, true AS liked
          UNION ALL
          MATCH (u)-[:POSTED]->(:Tweet)-[:RETWEET_OF]->(t:Tweet) WHERE t.id >= $since RETURN t.id AS id, false AS liked
        }
        WITH id, max(CASE WHEN liked THEN 1 ELSE 0 END) AS liked, max(CASE WHEN liked THEN 0 ELSE 1 END) AS retweeted
        RETURN collect([id, liked = 1, retweeted = 1]) AS acts
        """,
        userId=user_id,
        since=since_id,
        routing_="r",
    )
    return {tweet_id: (liked, retweeted) for tweet_id, liked, retweeted in records[0]["acts"]} if records else {}
