"""Who-to-follow: candidates from the graph (graph/suggestions.py), ranked here, cached per viewer.

A candidate's score is a weighted sum of its features (`features`):
- mutual: ln(1 + seeds, the viewer's closest follows, that follow it), Twitter's circle of trust;
- closeness: ln(1 + the same seeds, each weighed by how few accounts it follows), Adamic-Adar;
- follows_you: 1 when it follows the viewer, who does not follow back;
- interactions: ln(1 + the viewer's recent likes, retweets and replies of its tweets);
- shared_tags: the hashtags of the viewer's latest tweets it posts about;
- popularity: log10(1 + followers);
- idle: the share of the inactivity limit since it last posted.
The KEPT best are then ranked again with exact mutual counts and closeness (the social proof counts
them; the sources' own are bounded). WEIGHTS were learnt by logistic regression on held-out follows of the
bench data (`./scripts/bench.sh weights`, bench/weights.py, which also scores them on other users
beside the weights in use and plain friends-of-friends).
The reason shown is the source whose term gave the most, or POPULAR when none gave. The list is
cached for CACHE_SECONDS under the record cache's lease, and every follow, unfollow, dismissal and
undo drops it through the outbox (so a change that committed drops it even if Redis was away).
"""

import contextlib
import dataclasses
import math
import time
from collections.abc import Sequence

from redis.exceptions import RedisError

from errors import BadInput
from feeds import suggestions as cached_suggestions
from feeds.outbox import Effects
from feeds.record_cache import suggestions_cache
from graph import suggestions
from graph.records import Suggestion, Suggestions, UserRecord
from graph.snowflake import first_id_at
from resolvers.clients import Clients
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


# The reasons of the sources that find candidates by a feature; POPULAR is the rest's (cold start).
REASONS = {
    "FOLLOWED_BY_FOLLOWS": ("mutual", "closeness"),
    "FOLLOWS_YOU": ("follows_you",),
    "SHARED_INTERESTS": ("shared_tags",),
}
# Which way each feature may move a score: fitting never lets interactions lower one, say.
SIGNS = {
    "mutual": 1,
    "closeness": 1,
    "follows_you": 1,
    "interactions": 1,
    "shared_tags": 1,
    "popularity": 1,
    "idle": -1,
}
# Learnt (bench/weights.py); on the bench data interactions and popularity add nothing that mutual
# follows do not already say, so they weigh 0, and popularity only orders equals (`ranked`).
WEIGHTS = {
    "mutual": 1.0,
    "closeness": 1.061,
    "follows_you": 0.299,
    "interactions": 0.0,
    "shared_tags": 0.173,
    "popularity": 0.0,
    "idle": -0.048,
}


def features(candidate: suggestions.Candidate, now_ms: int) -> dict[str, float]:
    return {
        "mutual": math.log1p(candidate.mutual),
        "closeness": math.log1p(candidate.closeness),
        "follows_you": 1.0 if candidate.follows_viewer else 0.0,
        "interactions": math.log1p(candidate.interactions),
        "shared_tags": float(candidate.shared_tags),
        "popularity": math.log10(1 + candidate.followers),
        "idle": min(max(now_ms - candidate.active_at_ms, 0) / INACTIVE_MS, 1.0),
    }


def score(candidate: suggestions.Candidate, now_ms: int, weights: dict[str, float] = WEIGHTS) -> float:
    return sum(weights[name] * value for name, value in features(candidate, now_ms).items())


def reason(candidate: suggestions.Candidate, now_ms: int) -> str:
    """The source whose term gave the most (the first listed on a tie); POPULAR when none gave."""
    given = features(candidate, now_ms)
    terms = {
        name: sum(WEIGHTS[feature] * given[feature] for feature in features_of) for name, features_of in REASONS.items()
    }
    best = max(terms, key=terms.__getitem__)
    return best if terms[best] > 0 else "POPULAR"


def ranked(
    candidates: Sequence[suggestions.Candidate], now_ms: int, weights: dict[str, float] = WEIGHTS
) -> list[suggestions.Candidate]:
    """Best score first; among equals, the most followed."""
    return sorted(
        candidates, key=lambda candidate: (-score(candidate, now_ms, weights), -candidate.followers, candidate.user_id)
    )


async def candidates(
    clients: Clients, viewer_id: int, following: Sequence[int], popular: Sequence[int], now_ms: int
) -> list[suggestions.Candidate]:
    """Everyone the graph's sources find for the viewer, unranked."""
    return await suggestions.candidates(
        clients.neo4j,
        viewer_id,
        following,
        popular,
        bounds(clients.settings.suggestions_expand_follows),
        active_since_ms=now_ms - INACTIVE_MS,
        dismissed_since_id=first_id_at(now_ms - DISMISSAL_MS),
    )


async def compute(ctx: Context, viewer_id: int) -> Suggestions:
    now_ms = int(time.time() * 1000)
    clients = ctx.clients
    following = await ctx.following.load(viewer_id)
    found = await candidates(clients, viewer_id, following, await popular_accounts(clients, now_ms), now_ms)
    proofs, best = await exactly_ranked(clients, viewer_id, following, ranked(found, now_ms)[:KEPT], now_ms)
    items = tuple(
        Suggestion(
            user_id=candidate.user_id,
            mutual_count=proofs[candidate.user_id].mutual_count,
            reason=reason(candidate, now_ms),
            followed_by=proofs[candidate.user_id].followed_by,
        )
        for candidate in best
    )
    return Suggestions(id=viewer_id, items=items)


async def exactly_ranked(
    clients: Clients,
    viewer_id: int,
    following: Sequence[int],
    kept: Sequence[suggestions.Candidate],
    now_ms: int,
) -> tuple[dict[int, suggestions.Proof], list[suggestions.Candidate]]:
    """The kept candidates' social proof, and their order again with the exact mutual counts and
    closeness that the proofs count anyway (the candidates' own are bounded: seeds expanded, follows
    read of each)."""
    proofs = await suggestions.proofs(clients.neo4j, viewer_id, following, [c.user_id for c in kept], PROOF_KEPT)
    return proofs, ranked(exactly(kept, proofs), now_ms)


def exactly(
    candidates: Sequence[suggestions.Candidate], proofs: dict[int, suggestions.Proof]
) -> list[suggestions.Candidate]:
    """The candidates with the mutual counts and closeness of their proofs."""
    return [
        dataclasses.replace(c, mutual=proofs[c.user_id].mutual_count, closeness=proofs[c.user_id].closeness)
        for c in candidates
    ]


async def popular_accounts(clients: Clients, now_ms: int) -> list[int]:
    """From Redis while kept there; else found in Neo4j (and kept, when Redis answers)."""
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


@dataclasses.dataclass(frozen=True)
class ShownSuggestion:
    """A suggestion as whoToFollow shows it: with its user's record and its cached social proof's."""

    suggestion: Suggestion
    user: UserRecord
    proof: tuple[UserRecord, ...]  # of suggestion.followed_by, in its order (deleted accounts left out)


async def who_to_follow(ctx: Context, first: int | None) -> list[ShownSuggestion]:
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
    # answer shows anyway, says so. The records of the first `size` suggestions' social proof come
    # in the same read; those of a suggestion shown in an opted-out one's place, in a second.
    items = found[viewer_id].items
    records = await ctx.users.load_batch(
        [item.user_id for item in items] + [user_id for item in items[:size] for user_id in item.followed_by]
    )
    shown = [item for item in items if item.user_id in records and records[item.user_id].discoverable][:size]
    records = records | await ctx.users.load_batch(
        [user_id for item in shown for user_id in item.followed_by if user_id not in records]
    )
    return [
        ShownSuggestion(item, records[item.user_id], tuple(records[u] for u in item.followed_by if u in records))
        for item in shown
    ]


def known_followers(shown: ShownSuggestion, size: int) -> tuple[UserRecord, ...] | None:
    """followedBy(first: size) from the cached few when they answer it (the usual first: 3, at
    once); None when Neo4j must be asked (`followers_in_graph`)."""
    if size <= len(shown.suggestion.followed_by) or len(shown.suggestion.followed_by) == shown.suggestion.mutual_count:
        return shown.proof[:size]
    return None


async def followers_in_graph(ctx: Context, shown: ShownSuggestion, size: int) -> list[UserRecord]:
    user_ids = await ctx.followed_by.load((shown.suggestion.user_id, size))
    records = await ctx.users.load_batch(user_ids)
    return [records[user_id] for user_id in user_ids if user_id in records]


def proof_size(ctx: Context, first: int | None) -> int:
    """followedBy's `first`, checked once for both ways of answering it."""
    size = PROOF_KEPT if first is None else first
    if not 0 <= size <= ctx.clients.settings.max_page_size:
        raise BadInput(f"first must be between 0 and {ctx.clients.settings.max_page_size}")
    return size


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
