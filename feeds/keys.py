"""Every Redis key and channel Chirp uses, under one configurable prefix."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def events(self) -> str:
        """The fan-out work queue (a stream)."""
        return f"{self.prefix}{{events}}"

    @property
    def relayed(self) -> str:
        """The outbox entries appended to the stream lately (a sorted set by time), in its slot:
        an entry and its mark are written in one transaction."""
        return f"{self.prefix}{{events}}:relayed"

    @property
    def celebrities(self) -> str:
        """The set of authors whose tweets are pulled at read time rather than pushed."""
        return f"{self.prefix}celebrities"

    def timeline(self, user_id: int) -> str:
        return f"{self.prefix}timeline:{user_id}"

    def celebrity_tweets(self, author_id: int) -> str:
        """A celebrity's recent tweet ids, shared by all their followers."""
        return f"{self.prefix}celebrity-tweets:{author_id}"

    def celebrities_followed(self, user_id: int) -> str:
        return f"{self.prefix}celebrities-followed:{user_id}"

    def celebrities_followed_lease(self, user_id: int) -> str:
        return f"{self.prefix}celebrities-followed-lease:{user_id}"

    def tweet(self, tweet_id: int) -> str:
        return f"{self.prefix}tweet:{tweet_id}"

    def user(self, user_id: int) -> str:
        return f"{self.prefix}user:{user_id}"

    def viewer_acts(self, user_id: int) -> str:
        """What the user liked and retweeted lately (a hash: subject id -> flag bits)."""
        return f"{self.prefix}viewer-acts:{user_id}"

    def viewer_acts_fill(self, user_id: int) -> str:
        """The lease of whoever is filling viewer_acts from Neo4j (see feeds/viewer_acts.py)."""
        return f"{self.prefix}viewer-acts-fill:{user_id}"

    @property
    def live_viewer_prefix(self) -> str:
        return f"{self.prefix}live:viewer:"

    def live_viewer(self, user_id: int) -> str:
        """Pub/sub: tweets pushed into this user's timeline, and word that the celebrities they
        follow changed (see feeds/live.py)."""
        return f"{self.live_viewer_prefix}{user_id}"

    def live_author(self, author_id: int) -> str:
        """Pub/sub: tweets of this celebrity, for every follower to pick up."""
        return f"{self.prefix}live:author:{author_id}"

    def live_tweet(self, tweet_id: int) -> str:
        """Pub/sub: this tweet's text or counts changed."""
        return f"{self.prefix}live:tweet:{tweet_id}"

    def live_notifications(self, user_id: int) -> str:
        """Pub/sub: a notification for this user was created."""
        return f"{self.prefix}live:notifications:{user_id}"

    def live_process(self, process: str) -> str:
        """Pub/sub: nothing is published here; an app process's relay listens to it from its start."""
        return f"{self.prefix}live:process:{process}"

    @property
    def persisted_documents(self) -> str:
        """Automatic persisted queries: SHA-256 -> document (a hash; feeds/persisted.py)."""
        return f"{self.prefix}apq:{{apq}}:documents"

    @property
    def persisted_order(self) -> str:
        """The same documents by registration time, oldest evicted first."""
        return f"{self.prefix}apq:{{apq}}:order"

    # Trends (feeds/trends.py): every key in the one slot {trends}, so each script and transaction
    # touches one slot. Minutes and hours are counted from the Unix epoch.

    def trend_uses(self, tag: str, minute: int) -> str:
        """The tweets that used the tag in this minute (a set of tweet ids)."""
        return f"{self.prefix}trends:{{trends}}:uses:{minute}:{tag}"

    def trend_deleted(self, minute: int) -> str:
        """The tweets of this minute that were deleted (a set of tweet ids): never counted again."""
        return f"{self.prefix}trends:{{trends}}:deleted:{minute}"

    def trend_minute_accounts(self, tag: str, minute: int) -> str:
        """The accounts that used the tag in this minute (a HyperLogLog)."""
        return f"{self.prefix}trends:{{trends}}:accounts:m{minute}:{tag}"

    def trend_hour_accounts(self, tag: str, hour: int) -> str:
        """The accounts that used the tag in this hour (a HyperLogLog)."""
        return f"{self.prefix}trends:{{trends}}:accounts:h{hour}:{tag}"

    def trend_hour_uses(self, hour: int) -> str:
        """Uses in this hour by tag (a hash: tag -> count)."""
        return f"{self.prefix}trends:{{trends}}:hour-uses:{hour}"

    def trend_hour_tags(self, hour: int) -> str:
        """The tags used in this hour (a set): the candidates a ranking pass looks at."""
        return f"{self.prefix}trends:{{trends}}:hour-tags:{hour}"

    def trend_ranking(self, window_minutes: int) -> str:
        """The window's trending tags by score (a sorted set), written whole by each ranking pass."""
        return f"{self.prefix}trends:{{trends}}:ranking:{window_minutes}"

    def trend_stats(self, window_minutes: int) -> str:
        """The ranked tags' uses and accounts in the window (a hash: tag -> "uses accounts")."""
        return f"{self.prefix}trends:{{trends}}:stats:{window_minutes}"

    @property
    def trend_ranking_turn(self) -> str:
        """Taken by the worker whose turn it is to rank, so that several workers do not all rank every pass."""
        return f"{self.prefix}trends:{{trends}}:ranking-turn"

    def following(self, user_id: int) -> str:
        """Whom the user follows, newest first (feeds/record_cache.py), in the slot of their budgets."""
        return f"{self.prefix}following:{{{user_tag(user_id)}}}"

    def suggestions(self, user_id: int) -> str:
        """The user's ranked who-to-follow list (feeds/record_cache.py), in the slot of their budgets."""
        return f"{self.prefix}suggestions:{{{user_tag(user_id)}}}"

    @property
    def popular_accounts(self) -> str:
        """Popular accounts active lately, for every viewer's who-to-follow (feeds/suggestions.py)."""
        return f"{self.prefix}suggestions:{{popular}}"

    def budget(self, subject: str, name: str) -> str:
        """A rate-limit budget (feeds/budgets.py). The subject is its hash tag: user_tag(id) for a
        user's budgets, which share their slot with the user's token state, or "ip:<address>"..."""
        return f"{self.prefix}budget:{{{subject}}}:{name}"

    def upload_tickets(self, user_id: int) -> str:
        """The user's open createMediaUpload tickets (feeds/tickets.py)."""
        return f"{self.prefix}upload-tickets:{{{user_tag(user_id)}}}"

    def token_state(self, user_id: int) -> str:
        """The user's token revocations (feeds/tokens.py), in the slot of their budgets."""
        return f"{self.prefix}tokens:{{{user_tag(user_id)}}}"

    def live_tokens(self, user_id: int) -> str:
        """Pub/sub: one of the user's tokens was revoked; open subscriptions check theirs."""
        return f"{self.prefix}live:tokens:{user_id}"


def user_tag(user_id: int) -> str:
    """The hash tag of a user's budgets and token state: one cluster slot per user."""
    return f"u:{user_id}"
