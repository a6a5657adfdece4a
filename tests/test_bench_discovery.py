"""The discovery benchmark's arithmetic and generator pieces, on hand-made inputs (bench/quality.py, bench/weights.py,
bench/generate.py): the figures it reports are only as good as these."""

import math
import random

import numpy as np
import pytest

from bench.generate import HEAVY_FOLLOWING, Shape, communities, follow_edges, weighted_pick, zipf
from bench.quality import Edge, choose_hidden, ndcg_at, popular_for, recall_at, score
from bench.weights import Sample, fit
from graph.suggestions import Candidate, Proof


def test_recall_counts_the_hidden_follows_found_in_the_first_k() -> None:
    assert recall_at([1, 2, 3], {2, 9}) == 0.5
    assert recall_at([5, 6, 2], {2}, k=2) == 0.0, "found at rank 3 is not in the first 2"
    assert recall_at([], {1}) == 0.0


def test_ndcg_is_one_for_the_ideal_order_and_discounts_lower_ranks() -> None:
    assert ndcg_at([1, 2, 7], {1, 2}) == pytest.approx(1.0)
    # One relevant item at rank 2 of 10, of one possible: (1/log2 3) / (1/log2 2).
    assert ndcg_at([7, 1], {1}) == pytest.approx(1 / math.log2(3))
    # More hidden follows than k: the ideal is k hits.
    assert ndcg_at([1, 2], set(range(1, 20)), k=2) == pytest.approx(1.0)
    assert ndcg_at([8, 9], {1}) == 0.0


def test_score_averages_over_users_and_counts_a_user_without_suggestions_as_zero() -> None:
    quality = score({1: [10, 11]}, {1: {10}, 2: {20}})
    assert quality.users == 2
    assert quality.recall == pytest.approx(0.5)
    assert quality.ndcg == pytest.approx(0.5)


def test_a_tenth_of_each_users_follows_is_hidden_and_at_least_one() -> None:
    follows = {
        1: [Edge(1, followee, f"1:{followee}", followee) for followee in range(100, 130)],
        2: [Edge(2, followee, f"2:{followee}", followee) for followee in range(100, 111)],
    }
    hidden = choose_hidden(follows, random.Random(1))
    by_user = {user: [edge for edge in hidden if edge.follower == user] for user in follows}
    assert len(by_user[1]) == 3
    assert len(by_user[2]) == 1
    assert len(set(hidden)) == len(hidden)


def test_popularity_skips_the_viewer_and_whom_they_follow() -> None:
    assert popular_for([1, 2, 3, 4, 5], viewer=2, following={1, 4}, k=2) == [3, 5]
    assert popular_for([1, 2], viewer=1, following={2}) == []


def test_weighted_pick_stays_in_the_group_and_follows_the_weights() -> None:
    groups = np.array([0, 1, 0, 1, 1])
    weights = np.array([1.0, 1.0, 3.0, 0.0, 1.0])
    picks = weighted_pick(np.array([0] * 4000 + [1] * 4000), weights, groups, np.random.default_rng(3))
    assert set(picks[:4000]) == {0, 2}
    assert set(picks[4000:]) == {1, 4}, "a zero weight is never picked"
    assert np.mean(picks[:4000] == 2) == pytest.approx(0.75, abs=0.03)


def test_follows_have_no_duplicates_or_self_follows_and_mostly_stay_in_the_community() -> None:
    shape = Shape(users=20_000, follows=200_000, tweets=0, likes=0)
    rng = np.random.default_rng(5)
    community = communities(shape.users, rng)
    sources, targets = follow_edges(shape, community, rng)
    assert not np.any(sources == targets)
    assert np.unique(sources * shape.users + targets).size == sources.size
    assert np.mean(community[sources] == community[targets]) > 0.4, "far above the ~2-4% of random follows"
    assert np.sum(np.bincount(sources) >= HEAVY_FOLLOWING) >= 2, "viewers following 5,000 to sample"


def test_zipf_is_a_decreasing_distribution() -> None:
    probabilities = zipf(100)
    assert probabilities.sum() == pytest.approx(1.0)
    assert np.all(np.diff(probabilities) < 0)


def test_fitting_leaves_out_a_feature_against_its_sign() -> None:
    """Interactions may only raise a score: where they mark the accounts not followed, they fit at 0
    and the rest is fitted without them."""
    rng = random.Random(5)
    now_ms = 1_800_000_000_000
    candidates = [
        Candidate(
            user_id=i,
            mutual=rng.randint(2, 6) if i % 2 == 0 else rng.randint(0, 3),
            closeness=0.0,
            follows_viewer=False,
            shared_tags=0,
            interactions=0 if i % 2 == 0 else rng.randint(1, 5),
            followers=100,
            active_at_ms=now_ms,
        )
        for i in range(400)
    ]
    hidden = {c.user_id for c in candidates if c.user_id % 2 == 0}
    proofs = {c.user_id: Proof(c.mutual, ()) for c in candidates}
    weights = fit({1: Sample(candidates, proofs, hidden)}, now_ms)
    assert (weights["mutual"], weights["interactions"]) == (1.0, 0.0)
