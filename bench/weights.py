"""Who-to-follow's ranking weights, learnt by logistic regression on held-out follows
(`./scripts/bench.sh weights`, on the data set already generated).

A tenth of the follows of sampled users is hidden, as in bench/quality.py. Each user's candidates
come from the resolver's own sources (resolvers.suggestions.candidates, the same bounds), each with
its exact mutual count, and a candidate is a positive when it is one of the user's hidden follows.
The model is fitted on training users (even ids), on the features the final order uses (exact
mutual counts). It is scored on held-out users (odd ids, the half bench/quality.py measures) by
NDCG@10 and recall@10 through the resolver's two stages (bounded counts choose the kept ones,
exact counts order them), beside the weights in use, the hand-set ones they replaced, and plain
friends-of-friends on the same hidden follows, which it also scores over the accounts that may be
suggested (active ones: the resolver leaves out accounts inactive for 60 days, which plain
friends-of-friends suggests). It prints the fitted weights as the resolver's WEIGHTS, scaled so
that mutual's is 1.
"""

import asyncio
import dataclasses
import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench.quality import (
    K,
    Quality,
    choose_hidden,
    follows_of,
    friends_of_friends,
    hidden_by_user,
    hidden_follows,
    ranked_by,
    sample_users,
    score,
)
from bench.suite import bench_clients, degrees
from graph.follows import following_newest_first
from graph.suggestions import Candidate, Proof, proofs
from resolvers import suggestions
from resolvers.clients import Clients

USERS = 1000  # of each half
# The first release's weights, set by hand: the baseline the learnt ones had to beat.
HAND_SET = {
    "mutual": 1.0,
    "closeness": 0.0,  # came later
    "follows_you": 1.0,
    "interactions": 0.7,
    "shared_tags": 0.5,
    "popularity": 0.3,
    "idle": -0.5,
}
CONCURRENCY = 4


@dataclasses.dataclass(frozen=True)
class Sample:
    candidates: list[Candidate]  # as the sources count them
    proofs: dict[int, Proof]  # their exact counts
    hidden: set[int]

    def exact(self, chosen: Sequence[Candidate]) -> list[Candidate]:
        return suggestions.exactly(chosen, self.proofs)


async def gather(clients: Clients, hidden: dict[int, set[int]], now_ms: int) -> dict[int, Sample]:
    """Each user's candidates and their exact mutual counts while their follows are hidden,
    CONCURRENCY at a time."""
    popular = await suggestions.popular_accounts(clients, now_ms)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(user: int) -> tuple[int, Sample]:
        async with gate:
            following = await following_newest_first(clients.neo4j, user)
            found = await suggestions.candidates(clients, user, following, popular, now_ms)
            counted = await proofs(clients.neo4j, user, following, [c.user_id for c in found], 0)
            return user, Sample(found, counted, hidden[user])

    return dict(await asyncio.gather(*(one(user) for user in hidden)))


def fit(data: dict[int, Sample], now_ms: int) -> dict[str, float]:
    """Logistic regression of 'is a hidden follow' on the features, over every candidate. A feature
    whose weight comes out against its sign (resolvers.suggestions.SIGNS) is left out, at 0, and
    the rest fitted again."""
    names = list(suggestions.WEIGHTS)
    rows, labels = [], []
    for sample in data.values():
        for candidate in sample.exact(sample.candidates):
            features = suggestions.features(candidate, now_ms)
            rows.append([features[name] for name in names])
            labels.append(candidate.user_id in sample.hidden)
    matrix, outcome = np.array(rows), np.array(labels)
    kept = list(names)
    while True:
        columns = [names.index(name) for name in kept]
        coefficients = LogisticRegression(max_iter=1000).fit(matrix[:, columns], outcome).coef_[0]
        weights = dict(zip(kept, coefficients, strict=True))
        against = [name for name in kept if weights[name] * suggestions.SIGNS[name] < 0]
        if not against:
            break
        kept = [name for name in kept if name not in against]
    if "mutual" not in weights:
        raise RuntimeError("mutual follows came out against their sign: nothing to scale by")
    scale = weights["mutual"]
    return {name: round(float(weights.get(name, 0.0) / scale), 3) for name in names}


def top(sample: Sample, now_ms: int, weights: dict[str, float]) -> list[int]:
    """The first K as the resolver orders them: kept by the sources' counts, ordered by exact ones."""
    kept = suggestions.ranked(sample.candidates, now_ms, weights)[: suggestions.KEPT]
    return [c.user_id for c in suggestions.ranked(sample.exact(kept), now_ms, weights)[:K]]


def measure(ranked: dict[int, Sequence[int]], data: dict[int, Sample]) -> Quality:
    """Mean NDCG@K and recall@K of these rankings against each user's hidden follows."""
    return score(ranked, {user: sample.hidden for user, sample in data.items()})


async def run_weights() -> None:
    rng = random.Random(29)
    async with bench_clients() as clients:
        users = await degrees(clients)
        train, test = sample_users(users, False, USERS, rng), sample_users(users, True, USERS, rng)
        follows = await follows_of(clients.neo4j, train + test)
        edges = choose_hidden(follows, rng)
        hidden = hidden_by_user(edges)
        now_ms = int(time.time() * 1000)
        async with hidden_follows(clients.neo4j, edges, forget=nothing):
            data = await gather(clients, hidden, now_ms)
            fof = await ranked_by(lambda viewer: friends_of_friends(clients.neo4j, viewer), test)
            active_since = now_ms - suggestions.INACTIVE_MS
            fof_active = await ranked_by(lambda viewer: friends_of_friends(clients.neo4j, viewer, active_since), test)
    training = {user: data[user] for user in train}
    held_out = {user: data[user] for user in test}
    learnt = fit(training, now_ms)
    report: dict[str, Any] = {
        "candidates per user": float(np.mean([len(sample.candidates) for sample in data.values()])),
        "hidden follows among the candidates": float(
            np.mean([len({c.user_id for c in s.candidates} & s.hidden) / len(s.hidden) for s in data.values()])
        ),
        "friends-of-friends, held out": measure(fof, held_out),
        "friends-of-friends over active accounts, held out": measure(fof_active, held_out),
        "hand-set, held out": measure({u: top(s, now_ms, HAND_SET) for u, s in held_out.items()}, held_out),
        "in use, held out": measure({u: top(s, now_ms, suggestions.WEIGHTS) for u, s in held_out.items()}, held_out),
        "learnt, held out": measure({u: top(s, now_ms, learnt) for u, s in held_out.items()}, held_out),
        "learnt, training": measure({u: top(s, now_ms, learnt) for u, s in training.items()}, training),
    }
    for name, value in report.items():
        print(f"{name}: {value}")
    print("WEIGHTS =", learnt)


async def nothing() -> None:
    """No cache to drop: the candidates are read from the graph directly."""
