"""Trending hashtags: counted by the fan-out worker from the event stream, ranked by a periodic pass.

Counting. A use is bucketed by its tweet's time (the Snowflake timestamp), so a retry, a late event
and the tweet's deletion all find the same bucket. Per minute: the tweets that used the tag (a set of
ids: exact, removable, and idempotent, since an event handled twice adds nothing) and a HyperLogLog of
the accounts. Per hour: uses by tag and the tags used (a ranking pass's candidates), kept as long as
the minutes (MINUTES_KEPT past their end), and a HyperLogLog of accounts per tag, kept HOURS_KEPT for
the baseline.

Deletion. A deleted tweet leaves its minute's set and its hour's count, and is remembered for its
minute so that a post event handled after it counts nothing. A HyperLogLog cannot forget, so a
window's accounts are read as at most its uses: exact when each account used the tag once. A tweet
deleted after its minute bucket expired (MINUTES_KEPT) stays in the baseline's hour counts.

Ranking. For each window, each tag used in the hours the window touches is scored Mastodon's way on
distinct accounts: observed = accounts in the window; expected = the mean, over the BASELINE_DAYS
previous days, of the accounts in the same hours of that day (scaled down for a window under an
hour), at least FLOOR_EXPECTED for a tag never seen; score = (observed - expected)^2 / expected when
observed is above expected and at least min_accounts. So velocity against a tag's own baseline
ranks, not volume, and one account never trends. The best are kept per window, replaced whole.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.utils import str_if_bytes

from feeds.keys import Keys
from graph.snowflake import timestamp_ms

WINDOWS = (5, 15, 60, 240, 1440)  # the windows ranked, in minutes
MINUTE_MS = 60_000
HOUR_MINUTES = 60
DAY_MINUTES = 1440
BASELINE_DAYS = 7
FLOOR_EXPECTED = 1.0  # the accounts expected of a tag never seen before
MINUTES_KEPT = max(WINDOWS) + HOUR_MINUTES
# The baseline of the longest window reaches BASELINE_DAYS and a window back.
HOURS_KEPT = (BASELINE_DAYS * DAY_MINUTES + max(WINDOWS)) // HOUR_MINUTES + 1

# KEYS: the minute's deleted tweets, then per tag: its minute uses, minute accounts, the hour's uses,
# the hour's tags, the tag's hour accounts. ARGV: tweet, author, then the expiries (Unix ms) of minute
# buckets, of the hour's uses and tags, of the hour's accounts, then the tags. Returns how many tags
# it counted (0 when the use was counted already, or deleted).
COUNT_SCRIPT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local counted = 0
for i = 6, #ARGV do
  local k = 1 + (i - 6) * 5
  if redis.call('SADD', KEYS[k + 1], ARGV[1]) == 1 then
    counted = counted + 1
    redis.call('PEXPIREAT', KEYS[k + 1], ARGV[3])
    redis.call('PFADD', KEYS[k + 2], ARGV[2])
    redis.call('PEXPIREAT', KEYS[k + 2], ARGV[3])
    redis.call('HINCRBY', KEYS[k + 3], ARGV[i], 1)
    redis.call('PEXPIREAT', KEYS[k + 3], ARGV[4])
    redis.call('SADD', KEYS[k + 4], ARGV[i])
    redis.call('PEXPIREAT', KEYS[k + 4], ARGV[4])
    redis.call('PFADD', KEYS[k + 5], ARGV[2])
    redis.call('PEXPIREAT', KEYS[k + 5], ARGV[5])
  end
end
return counted
"""

# KEYS: the minute's deleted tweets, then per tag: its minute uses, the hour's uses. ARGV: tweet,
# minute expiry (Unix ms), then the tags. Returns how many tags it discounted.
DISCOUNT_SCRIPT = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
local discounted = 0
for i = 3, #ARGV do
  local k = 1 + (i - 3) * 2
  if redis.call('SREM', KEYS[k + 1], ARGV[1]) == 1 then
    discounted = discounted + 1
    redis.call('HINCRBY', KEYS[k + 2], ARGV[i], -1)
  end
end
return discounted
"""


@dataclass(frozen=True)
class Use:
    """A tweet's hashtags (lower-cased, each once), by its author, at its time (Unix ms)."""

    tweet_id: int
    author_id: int
    tags: tuple[str, ...]
    at_ms: int


@dataclass(frozen=True)
class Trend:
    tag: str
    uses: int
    accounts: int
    score: float


def normal_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as trends count them: lower-cased, each once."""
    return tuple(dict.fromkeys(tag.lower() for tag in tags))


def use_of(entry: Mapping[str, Any]) -> Use:
    """The use a post event or a delete event's entry names; one recorded before events carried tags
    ("tags" missing) uses none."""
    return Use(entry["tweet"], entry["author"], normal_tags(entry.get("tags", ())), timestamp_ms(entry["tweet"]))


async def record(redis: Redis, keys: Keys, kind: str, data: Mapping[str, Any], now_ms: int) -> None:
    """Counts a post's uses and discounts a deletion's; other events use no hashtag."""
    if kind == "post":
        await count(redis, keys, use_of(data), now_ms)
    elif kind == "delete":
        for entry in data["entries"]:
            await discount(redis, keys, use_of(entry), now_ms)


def _minute_expiry(minute: int) -> int:
    return (minute + 1 + MINUTES_KEPT) * MINUTE_MS


def _hour_expiry(hour: int, kept_minutes: int) -> int:
    return ((hour + 1) * HOUR_MINUTES + kept_minutes) * MINUTE_MS


def _buckets(use: Use, now_ms: int) -> tuple[int, int] | None:
    """The use's minute and hour; None when it has no tags, or when its minute bucket is gone (or
    about to go): counting it again could not be told from the first time, and discounting it
    finds nothing."""
    minute = use.at_ms // MINUTE_MS
    if not use.tags or minute < now_ms // MINUTE_MS - MINUTES_KEPT:
        return None
    return minute, minute // HOUR_MINUTES


async def count(redis: Redis, keys: Keys, use: Use, now_ms: int) -> int:
    """Counts the use once, however often it comes; returns how many of its tags were new."""
    if (buckets := _buckets(use, now_ms)) is None:
        return 0
    minute, hour = buckets
    script_keys = [keys.trend_deleted(minute)]
    for tag in use.tags:
        script_keys += [
            keys.trend_uses(tag, minute),
            keys.trend_minute_accounts(tag, minute),
            keys.trend_hour_uses(hour),
            keys.trend_hour_tags(hour),
            keys.trend_hour_accounts(tag, hour),
        ]
    expiries = [_minute_expiry(minute), _hour_expiry(hour, MINUTES_KEPT), _hour_expiry(hour, HOURS_KEPT * HOUR_MINUTES)]
    args: list[int | str] = [use.tweet_id, use.author_id, *expiries, *use.tags]
    return int(await redis.register_script(COUNT_SCRIPT)(keys=script_keys, args=args))


async def discount(redis: Redis, keys: Keys, use: Use, now_ms: int) -> int:
    """Takes a deleted tweet's uses out of its buckets; returns how many of its tags were counted."""
    if (buckets := _buckets(use, now_ms)) is None:
        return 0
    minute, hour = buckets
    script_keys = [keys.trend_deleted(minute)]
    for tag in use.tags:
        script_keys += [keys.trend_uses(tag, minute), keys.trend_hour_uses(hour)]
    args: list[int | str] = [use.tweet_id, _minute_expiry(minute), *use.tags]
    return int(await redis.register_script(DISCOUNT_SCRIPT)(keys=script_keys, args=args))


@dataclass(frozen=True)
class Span:
    """A window's minutes as buckets: whole hours where they fit, minutes at the edges, so that a
    day costs at most 24 hour keys and 118 minute keys per tag."""

    minutes: list[int]
    hours: list[int]
    touched_hours: list[int]  # every hour the window reaches into: where its candidates are

    @classmethod
    def ending(cls, end_minute: int, window: int) -> "Span":
        start = end_minute - window + 1
        first_hour = -(-start // HOUR_MINUTES)  # the first hour starting inside the window
        end_hour = (end_minute + 1) // HOUR_MINUTES  # the hours before it end inside the window
        touched = list(range(start // HOUR_MINUTES, end_minute // HOUR_MINUTES + 1))
        if first_hour >= end_hour:
            return cls(list(range(start, end_minute + 1)), [], touched)
        edges = list(range(start, first_hour * HOUR_MINUTES)) + list(range(end_hour * HOUR_MINUTES, end_minute + 1))
        return cls(edges, list(range(first_hour, end_hour)), touched)


def baseline_hours(end_minute: int, window: int) -> list[list[int]]:
    """For each previous day, the hours of the same time of day that the baseline compares with:
    as many whole hours as the window holds, at least one, ending with the hour a day earlier."""
    span = max(1, window // HOUR_MINUTES)
    ends = [(end_minute - day * DAY_MINUTES) // HOUR_MINUTES for day in range(1, BASELINE_DAYS + 1)]
    return [list(range(end - span + 1, end + 1)) for end in ends]


def score(observed: int, expected: float, min_accounts: int) -> float | None:
    """Mastodon's score of a tag, or None when it does not trend."""
    expected = max(expected, FLOOR_EXPECTED)
    if observed < min_accounts or observed <= expected:
        return None
    return (observed - expected) ** 2 / expected


async def rank(redis: Redis, keys: Keys, now_ms: int, *, min_accounts: int, kept: int) -> None:
    """Ranks every window as of now_ms, keeping the best `kept` tags of each."""
    for window in WINDOWS:
        trends = await rank_window(redis, keys, now_ms // MINUTE_MS, window, min_accounts)
        await store(redis, keys, window, trends[:kept])


async def rank_window(redis: Redis, keys: Keys, end_minute: int, window: int, min_accounts: int) -> list[Trend]:
    """The window's trending tags, best first. Only tags with enough accounts (an approximate count,
    one command each) have their uses and baseline read."""
    span = Span.ending(end_minute, window)
    candidates = sorted(
        str_if_bytes(tag) for tag in await redis.sunion([keys.trend_hour_tags(hour) for hour in span.touched_hours])
    )
    async with redis.pipeline(transaction=False) as pipe:
        for tag in candidates:
            pipe.pfcount(*_account_keys(keys, tag, span.hours, span.minutes))
        accounts = await pipe.execute()
    enough = [(tag, found) for tag, found in zip(candidates, accounts, strict=True) if found >= min_accounts]
    days = baseline_hours(end_minute, window)
    async with redis.pipeline(transaction=False) as pipe:
        for tag, _ in enough:
            for minute in span.minutes:
                pipe.scard(keys.trend_uses(tag, minute))
            for hour in span.hours:
                pipe.hget(keys.trend_hour_uses(hour), tag)
            for hours in days:
                pipe.pfcount(*_account_keys(keys, tag, hours, []))
        replies = await pipe.execute()
    stride = len(span.minutes) + len(span.hours) + len(days)
    scale = min(1.0, window / HOUR_MINUTES)
    trends = []
    for index, (tag, found) in enumerate(enough):
        reply = replies[index * stride : (index + 1) * stride]
        uses = sum(int(value or 0) for value in reply[: len(span.minutes) + len(span.hours)])
        observed = min(found, uses)
        expected = scale * sum(reply[len(span.minutes) + len(span.hours) :]) / len(days)
        tag_score = score(observed, expected, min_accounts)
        if tag_score is not None:
            trends.append(Trend(tag=tag, uses=uses, accounts=observed, score=tag_score))
    return sorted(trends, key=lambda trend: (-trend.score, trend.tag))


def _account_keys(keys: Keys, tag: str, hours: Sequence[int], minutes: Sequence[int]) -> list[str]:
    return [keys.trend_hour_accounts(tag, hour) for hour in hours] + [
        keys.trend_minute_accounts(tag, minute) for minute in minutes
    ]


async def store(redis: Redis, keys: Keys, window: int, trends: Sequence[Trend]) -> None:
    """Replaces the window's ranking whole, in one transaction: a reader sees one pass or the next."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.trend_ranking(window), keys.trend_stats(window))
        if trends:
            pipe.zadd(keys.trend_ranking(window), {trend.tag: trend.score for trend in trends})
            pipe.hset(
                keys.trend_stats(window), mapping={trend.tag: f"{trend.uses} {trend.accounts}" for trend in trends}
            )
        await pipe.execute()


async def top(redis: Redis, keys: Keys, window: int, first: int) -> list[Trend]:
    """The window's best `first` trends from the last ranking pass, best first."""
    if first <= 0:
        return []
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrange(keys.trend_ranking(window), 0, first - 1, desc=True, withscores=True)
        pipe.hgetall(keys.trend_stats(window))
        ranked, stats = await pipe.execute()
    trends = []
    for member, tag_score in ranked:
        uses, accounts = stats[member].split()
        trends.append(Trend(tag=member.decode(), uses=int(uses), accounts=int(accounts), score=float(tag_score)))
    return trends
