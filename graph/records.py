"""What the graph layer hands upward: plain immutable records, one per node kind."""

from dataclasses import dataclass
from datetime import UTC, datetime

from graph.snowflake import timestamp_ms


def created_at(snowflake: int) -> datetime:
    """Ids are time-ordered, so a node's creation time is read off its id rather than stored twice."""
    return datetime.fromtimestamp(timestamp_ms(snowflake) / 1000, tz=UTC)


@dataclass(frozen=True)
class UserRecord:
    id: int
    handle: str
    display_name: str
    bio: str
    avatar_media_id: int | None
    discoverable: bool
    follower_count: int
    following_count: int
    tweet_count: int


@dataclass(frozen=True)
class TweetRecord:
    id: int
    author_id: int
    text: str
    edited_at: datetime | None
    retweet_of_id: int | None
    in_reply_to_id: int | None
    # The author a reply answered; kept when what it answered is deleted, so its audience stays.
    answers_user_id: int | None
    hashtags: tuple[str, ...]
    mention_ids: tuple[int, ...]
    # The tweet's own counts: a retweet has none of its own (actions on it go to its subject).
    like_count: int
    retweet_count: int
    reply_count: int
    # Attached media, in the order the author gave them.
    media_ids: tuple[int, ...] = ()

    @property
    def subject_id(self) -> int:
        """The tweet that likes, retweets and replies aimed at this one really go to."""
        return self.retweet_of_id if self.retweet_of_id is not None else self.id


@dataclass(frozen=True)
class MediaRecord:
    """An upload: its bytes live in MinIO under `key` (content-addressed), immutable."""

    id: int
    owner_id: int
    kind: str  # IMAGE, GIF or VIDEO
    content_type: str
    byte_size: int
    width: int | None
    height: int | None
    alt_text: str | None
    key: str
    thumbnail_key: str | None
    sha256: str


@dataclass(frozen=True)
class NotificationRecord:
    id: int
    recipient_id: int
    kind: str  # FOLLOW, LIKE, RETWEET, REPLY or MENTION
    actor_id: int
    tweet_id: int | None  # None for FOLLOW
    read: bool


@dataclass(frozen=True)
class Suggestion:
    user_id: int
    mutual_count: int
    reason: str  # FOLLOWED_BY_FOLLOWS, FOLLOWS_YOU, SHARED_INTERESTS or POPULAR
    followed_by: tuple[int, ...]  # the first few the viewer follows who follow the user, newest follow first


@dataclass(frozen=True)
class Following:
    """Whom a user follows, newest follow first, as cached; the id is the user's."""

    id: int
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Suggestions:
    """A viewer's ranked who-to-follow list, as cached; the id is the viewer's."""

    id: int
    items: tuple[Suggestion, ...]


# A cursor's key: an id or a time for most connections; (rank, id) for ranked ones (search).
CursorKey = int | tuple[int, int]


@dataclass(frozen=True)
class Page:
    """One page of a connection: (cursor key, node id) pairs, newest or first first."""

    items: tuple[tuple[CursorKey, int], ...]
    has_next: bool
