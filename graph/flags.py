"""What a viewer has done to tweets (liked, retweeted), for a page of them in one query.

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
