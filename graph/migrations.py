"""Schema migrations: constraints and indexes, each idempotent, applied at every start-up."""

from neo4j import AsyncDriver

from graph.tweets import fill_tweet_days
from graph.users import fill_active_at, fill_name_keys

# Uniqueness on every id, and on the lower-cased handle so that "Ada" and "ada" collide;
# on the keys that make follows, likes, retweets, idempotent posts and notifications happen at most once.
# Full-text indexes back tweet search and user search.
MIGRATIONS: tuple[str, ...] = (
    "CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE",
    "CREATE CONSTRAINT user_handle_lower IF NOT EXISTS FOR (u:User) REQUIRE u.handleLower IS UNIQUE",
    "CREATE CONSTRAINT tweet_id IF NOT EXISTS FOR (t:Tweet) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT tweet_retweet_key IF NOT EXISTS FOR (t:Tweet) REQUIRE t.retweetKey IS UNIQUE",
    "CREATE CONSTRAINT tweet_idempotency IF NOT EXISTS FOR (t:Tweet) REQUIRE t.idempotencyToken IS UNIQUE",
    "CREATE CONSTRAINT follows_key IF NOT EXISTS FOR ()-[f:FOLLOWS]-() REQUIRE f.key IS UNIQUE",
    "CREATE CONSTRAINT liked_key IF NOT EXISTS FOR ()-[l:LIKED]-() REQUIRE l.key IS UNIQUE",
    "CREATE CONSTRAINT dismissed_key IF NOT EXISTS FOR ()-[d:DISMISSED]-() REQUIRE d.key IS UNIQUE",
    "CREATE CONSTRAINT media_id IF NOT EXISTS FOR (m:Media) REQUIRE m.id IS UNIQUE",
    "CREATE CONSTRAINT hashtag_tag IF NOT EXISTS FOR (h:Hashtag) REQUIRE h.tag IS UNIQUE",
    "CREATE CONSTRAINT notification_id IF NOT EXISTS FOR (n:Notification) REQUIRE n.id IS UNIQUE",
    # One notification per recipient, kind, actor and tweet: a like, unlike and like again notify once.
    "CREATE CONSTRAINT notification_key IF NOT EXISTS FOR (n:Notification) REQUIRE n.key IS UNIQUE",
    # The outbox: entries by id, those of one deployment, and those it has still to relay, oldest first.
    "CREATE CONSTRAINT outbox_id IF NOT EXISTS FOR (o:Outbox) REQUIRE o.id IS UNIQUE",
    "CREATE INDEX outbox_destination IF NOT EXISTS FOR (o:Outbox) ON (o.destination)",
    "CREATE INDEX unrelayed_destination IF NOT EXISTS FOR (o:Unrelayed) ON (o.destination, o.id)",
    # Search: each tweet's text and day (graph/search.py reads back in slices of days). It replaces
    # tweet_text, on the text alone, as user_typeahead replaces user_search.
    "DROP INDEX tweet_text IF EXISTS",
    "DROP INDEX user_search IF EXISTS",
    "CREATE FULLTEXT INDEX tweet_search IF NOT EXISTS FOR (t:Tweet) ON EACH [t.text, t.day]"
    " OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}",
    # Typeahead: handles and display names folded in Python (graph/folding.py), no stop words dropped.
    "CREATE FULLTEXT INDEX user_typeahead IF NOT EXISTS FOR (u:User) ON EACH [u.handleLower, u.nameKey]"
    " OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}",
    # Replies made before replies recorded whom they answer.
    "MATCH (t:Tweet)-[:REPLY_TO]->(p:Tweet) WHERE t.answersUserId IS NULL SET t.answersUserId = p.authorId",
)


async def apply_migrations(driver: AsyncDriver) -> None:
    """Applies every migration, then waits until the indexes are online so the first query can use them."""
    for statement in MIGRATIONS:
        await driver.execute_query(statement)
    await fill_name_keys(driver)
    await fill_active_at(driver)
    await fill_tweet_days(driver)
    await driver.execute_query("CALL db.awaitIndexes(300)")
