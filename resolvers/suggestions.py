"""Who-to-follow: candidates from the graph (graph/suggestions.py), ranked here, cached per viewer.

The ranking adds, for each candidate:
- ln(1 + mutual): seeds (the viewer's closest follows) that follow it, Twitter's circle of trust;
- 1 when it follows the viewer, who does not follow back;
- 0.7 ln(1 + interactions): the viewer's likes, retweets and replies of its tweets lately;
- 0.5 per hashtag it shares with the viewer's latest tweets;
- 0.3 log10(1 + followers): popularity, damped so that it decides only among equals;
- minus 0.5 times the share of the inactivity limit since it last posted.
The reason shown is the source that gave the most (the first listed on a tie). The list is cached
for CACHE_SECONDS under the record cache's lease, and every follow, unfollow, dismissal and undo
drops it through the outbox (so a change that committed drops it even if Redis was away).
"""

import contextlib
import math
import time
from collections.abc import Sequence

from redis.exceptions import RedisError

from errors import BadInput
from feeds import suggestions as cached_suggestions
from feeds.outbox import Effects
from feeds.record_cache import suggestions_cache
from graph import suggestions
from graph.records import Suggestion, Suggestions
from graph.snowflake import first_id_at
from resolvers.context import Context
from resolvers.hydration import cached
from resolvers.outbox import if_changed, relay_now

CACHE_SECONDS = 15 * 60
KEPT = 30  # suggestions ranked and cached; whoToFollow(first) takes at most this many
PROOF_KEPT = 3  # followedBy ids cached with each (the contract's default)
INACTIVE_MS = 60 * 86_400_000
DISMISSAL_MS = 180 * 86_400_000
POPULAR_KEPT = 50


def bounds(expand: int) -> suggestions.Bounds:
    return suggestions.Bounds(expand=expand, per_seed=200, per_source=200, acts=200, tags=5, per_tag=200)


def contributions(candidate: suggestions.Candidate) -> dict[str, float]:
    """What each source gave the candidate's score, by the reason it would show."""
    return {
        "FOLLOWED_BY_FOLLOWS": math.log1p(candidate.mutual),
        "FOLLOWS_YOU": 1.0 if candidate.follows_viewer else 0.0,
        "SHARED_INTERESTS": 0.5 * candidate.shared_tags,
        "POPULAR": 0.3 * math.log10(1 + candidate.followers),
    }


def score(candidate: suggestions.Candidate, now_ms: int) -> float:
    idle = min(max(now_ms - candidate.active_at_ms, 0) / INACTIVE_MS, 1.0)
    return sum(contributions(candidate).values()) + 0.7 * math.log1p(candidate.interactions) - 0.5 * idle


def reason(candidate: suggestions.Candidate) -> str:
    given = contributions(candidate)
    return max(given, key=lambda name: given[name])  # the first listed wins a tie


def ranked(candidates: Sequence[suggestions.Candidate], now_ms: int) -> list[suggestions.Candidate]:
    return sorted(candidates, key=lambda candidate: (-score(candidate, now_ms), candidate.user_id))


async def compute(ctx: Context, viewer_id: int) -> Suggestions:
    now_ms = int(time.time() * 1000)
    clients = ctx.clients
    following = await ctx.following.load(viewer_id)
    found = await suggestions.candidates(
        clients.neo4j,
        viewer_id,
        following,
        await popular_accounts(ctx, now_ms),
        bounds(clients.settings.suggestions_expand_follows),
        active_since_ms=now_ms - INACTIVE_MS,
        dismissed_since_id=first_id_at(now_ms - DISMISSAL_MS),
    )
    best = ranked(found, now_ms)[:KEPT]
    proofs = await suggestions.proofs(clients.neo4j, viewer_id, following, [c.user_id for c in best], PROOF_KEPT)
    items = tuple(
        Suggestion(
            user_id=candidate.user_id,
            mutual_count=proofs[candidate.user_id].mutual_count,
            reason=reason(candidate),
            followed_by=proofs[candidate.user_id].followed_by,
        )
        for candidate in best
    )
    return Suggestions(id=viewer_id, items=items)


async def popular_accounts(ctx: Context, now_ms: int) -> list[int]:
    """From Redis while kept there; else found in Neo4j (and kept, when Redis answers)."""
    clients = ctx.clients
    try:
        kept = await cached_suggestions.popular(clients.redis, clients.keys)
    except RedisError:
        return await suggestions.popular_active(clients.neo4j, now_ms - INACTIVE_MS, POPULAR_KEPT)
    if kept is not None:
        return kept
    found = await suggestions.popular_active(clients.neo4j, now_ms - INACTIVE_MS, POPULAR_KEPT)
    with contextlib.suppress(RedisError):  # found all the same; the next request looks again
        await cached_suggestions.keep_popular(clients.redis, clients.keys, found, CACHE_SECONDS)
    return found


async def who_to_follow(ctx: Context, first: int | None) -> list[Suggestion]:
    viewer_id = ctx.viewer()
    size = KEPT if first is None else first
    if not 0 <= size <= KEPT:
        raise BadInput(f"first must be between 0 and {KEPT}")
    clients = ctx.clients

    async def fetch(viewer_ids: Sequence[int]) -> dict[int, Suggestions]:
        return {viewer: await compute(ctx, viewer) for viewer in viewer_ids}

    found = await cached(
        clients, suggestions_cache(clients.keys.suggestions), [viewer_id], fetch, ttl_seconds=CACHE_SECONDS
    )
    # An account that opted out since the list was cached leaves it at once: its record, which the
    # answer shows anyway, says so.
    items = found[viewer_id].items
    records = await ctx.users.load_batch([item.user_id for item in items])
    shown = [item for item in items if item.user_id in records and records[item.user_id].discoverable]
    return shown[:size]


async def followed_by(ctx: Context, suggestion: Suggestion, first: int | None) -> list[int]:
    """The cached few when they answer `first`; else asked of Neo4j."""
    size = PROOF_KEPT if first is None else first
    if not 0 <= size <= ctx.clients.settings.max_page_size:
        raise BadInput(f"first must be between 0 and {ctx.clients.settings.max_page_size}")
    if size <= len(suggestion.followed_by) or len(suggestion.followed_by) == suggestion.mutual_count:
        return list(suggestion.followed_by[:size])
    return list(await ctx.followed_by.load((suggestion.user_id, size)))


async def dismiss(ctx: Context, user_id: int) -> bool:
    viewer_id = ctx.viewer()
    if user_id == viewer_id:
        raise BadInput("you cannot dismiss yourself")
    changed = Effects("changed", suggestions_of=[viewer_id])
    edge_id = ctx.clients.ids.next_id()
    await relay_now(ctx, await suggestions.dismiss(ctx.neo4j, viewer_id, user_id, edge_id, if_changed(ctx, changed)))
    return True


async def undo_dismiss(ctx: Context, user_id: int) -> bool:
    viewer_id = ctx.viewer()
    changed = Effects("changed", suggestions_of=[viewer_id])
    await relay_now(ctx, await suggestions.undo_dismiss(ctx.neo4j, viewer_id, user_id, if_changed(ctx, changed)))
    return True
