"""Migrations: constraints and indexes, each idempotent and cheap, applied at every start-up; then
the data migrations (what older versions wrote, brought up to what this one reads), each run to
its end once and then marked done by a (:Migration {name}) node, as each scans every node of its
label (seconds at a million tweets, at every start-up otherwise)."""

from collections.abc import Awaitable, Callable

from neo4j import AsyncDriver

from graph.search import TWEET_INDEX
from graph.tweets import fill_tweet_days
from graph.users import fill_active_at, fill_name_keys, fill_reach

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
    "CREATE CONSTRAINT migration_name IF NOT EXISTS FOR (m:Migration) REQUIRE m.name IS UNIQUE",
    "CREATE INDEX outbox_destination IF NOT EXISTS FOR (o:Outbox) ON (o.destination)",
    "CREATE INDEX unrelayed_destination IF NOT EXISTS FOR (o:Unrelayed) ON (o.destination, o.id)",
    # Search: each tweet's text and day (graph/search.py reads back in slices of days). It replaces
    # tweet_text, on the text alone, as user_typeahead replaces user_search.
    "DROP INDEX tweet_text IF EXISTS",
    "DROP INDEX user_search IF EXISTS",
    # Kept up to date off the commit path (graph/search.py says why): it replaces tweet_search, kept
    # up to date in each commit, and a changed config needs a new index (IF NOT EXISTS keeps the old).
    # Search waits for it to be built (seconds for a million tweets, once).
    "DROP INDEX tweet_search IF EXISTS",
    f"CREATE FULLTEXT INDEX {TWEET_INDEX} IF NOT EXISTS FOR (t:Tweet) ON EACH [t.text, t.day]"
    " OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words', `fulltext.eventually_consistent`: true}}",
    f"CALL db.awaitIndex('{TWEET_INDEX}', 600)",
    # Typeahead: handles and display names folded in Python (graph/folding.py), no stop words dropped,
    # and each user's reach (graph/follows.py), read widest first. It replaces user_typeahead.
    "DROP INDEX user_typeahead IF EXISTS",
    "CREATE FULLTEXT INDEX user_lookup IF NOT EXISTS FOR (u:User) ON EACH [u.handleLower, u.nameKey, u.reach]"
    " OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}",
)


async def fill_answered_users(driver: AsyncDriver) -> None:
    """Replies made before replies recorded whom they answer get it."""
    await driver.execute_query(
        "MATCH (t:Tweet)-[:REPLY_TO]->(p:Tweet) WHERE t.answersUserId IS NULL SET t.answersUserId = p.authorId"
    )


# By name, in order; a name is never reused, and a step once released is never changed (a database
# that ran it will not run it again).
DATA_MIGRATIONS: tuple[tuple[str, Callable[[AsyncDriver], Awaitable[None]]], ...] = (
    ("replies-answered-users", fill_answered_users),
    ("users-name-keys", fill_name_keys),
    ("users-active-at", fill_active_at),
    ("tweets-days", fill_tweet_days),
    ("users-reach", fill_reach),
)


async def apply_migrations(driver: AsyncDriver) -> None:
    """Applies every migration, and each data migration not done yet; then waits until the indexes
    are online so the first query can use them."""
    for statement in MIGRATIONS:
        await driver.execute_query(statement)
    records, _, _ = await driver.execute_query("MATCH (m:Migration) RETURN m.name AS name")
    done = {record["name"] for record in records}
    for name, migrate in DATA_MIGRATIONS:
        if name not in done:
            await migrate(driver)
            await driver.execute_query("MERGE (:Migration {name: $name})", name=name)
    await driver.execute_query("CALL db.awaitIndexes(300)")
