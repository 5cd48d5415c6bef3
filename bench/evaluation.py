"""Offline evaluation of top-N recommendations (bench/quality.py, tests/quality/): leave-last-out hit rate and NDCG,
and two reference recommenders computed from the same training interactions.

- **HR@N**: the share of evaluated users whose held-out item is in their top N.
- **NDCG@N**: the mean over evaluated users of ``1 / log2(rank + 1)`` (rank from 1) when the held-out item is in
  the top N, else 0. One relevant item per user, so the ideal DCG is 1.
- **Popularity**: every item ranked by how many users interacted with it, ties to the lower id; the user's own
  items left out.
- **Item-kNN (cosine)**: items as binary vectors over users, ``sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| |U_j|)``, every
  neighbour kept; a user's score for ``i`` is the sum of ``sim(i, j)`` over the items ``j`` they interacted with;
  their own items left out, ties to the lower id.

Both rank the whole catalogue (full ranking, no sampled negatives). ``recency_neighbours`` is the gateway's
``graph`` strategy (gateway/stores/neo4j/recommendations.py) in matrix form: the bench checks the Cypher against it
and tunes its constants with it on a validation split; ``weighed`` is the weighing by preferred genres
(``usePreferences``), and ``liked_genres`` the preferences the bench derives from training ratings.
``held_out_present`` looks for held-out pairs in the stores.

numpy is a development dependency, hence this module lives in bench/, outside the shipped package.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.stores import Sources
from gateway.stores.mongo import pairs as mongo_pairs
from gateway.stores.mysql import pairs as mysql_pairs
from gateway.stores.neo4j import pairs as neo4j_pairs

Interactions = Mapping[int, Collection[int]]  # user id -> the item ids they interacted with (training data)
Timed = Mapping[int, Mapping[int, float]]  # user id -> item id -> when they last interacted with it


@dataclass(frozen=True, slots=True)
class Quality:
    users: int  # evaluated: those with a held-out item
    hits: int
    hit_rate: float
    ndcg: float


def rank_of(ranked: Sequence[int], item: int, n: int) -> int | None:
    """The 1-based position of ``item`` among the first ``n`` of ``ranked``; None if it is not there."""
    top = list(ranked[:n])
    return top.index(item) + 1 if item in top else None


def evaluate(ranked: Mapping[int, Sequence[int]], held_out: Mapping[int, int], n: int = 10) -> Quality:
    """HR@n and NDCG@n of ``ranked`` (user -> items, best first) against each user's held-out item. A user
    without a list counts as a miss."""
    if not held_out:
        raise ValueError("no held-out interactions to evaluate against")
    ranks = [rank_of(ranked.get(user, ()), item, n) for user, item in held_out.items()]
    found = [rank for rank in ranks if rank is not None]
    gain = sum(1 / math.log2(rank + 1) for rank in found)
    return Quality(len(ranks), len(found), len(found) / len(ranks), gain / len(ranks))


@dataclass(frozen=True, slots=True)
class Scores:
    """A recommender's score for every (user, catalogue item); ``seen`` marks the user's own items."""

    users: list[int]
    items: list[int]  # the catalogue, ascending
    values: npt.NDArray[np.float64]
    seen: npt.NDArray[np.bool_]

    def of(self, user: int) -> dict[int, float]:
        """``user``'s score per unseen item."""
        row = self.users.index(user)
        return {item: float(self.values[row, i]) for i, item in enumerate(self.items) if not self.seen[row, i]}

    def top(self, n: int, users: Iterable[int] | None = None) -> dict[int, list[int]]:
        """Per user (all, or those of ``users`` scored here), the ``n`` best unseen items; ties to the lower id."""
        row_of = {user: row for row, user in enumerate(self.users)}
        wanted = [user for user in (self.users if users is None else users) if user in row_of]
        rows = [row_of[user] for user in wanted]
        masked = np.where(self.seen[rows], -np.inf, self.values[rows])
        order = np.argsort(-masked, axis=1, kind="stable")[:, :n]  # stable: ties keep the catalogue's order
        return {user: [self.items[i] for i in order[r] if np.isfinite(masked[r, i])] for r, user in enumerate(wanted)}


def _matrix(
    train: Mapping[int, Collection[int]], catalogue: Sequence[int]
) -> tuple[list[int], npt.NDArray[np.float64]]:
    """Users (ascending) × catalogue items, 1.0 where the user interacted."""
    column = {item: index for index, item in enumerate(catalogue)}
    users = sorted(train)
    matrix = np.zeros((len(users), len(catalogue)))
    for row, user in enumerate(users):
        matrix[row, [column[item] for item in train[user] if item in column]] = 1.0
    return users, matrix


def popularity(train: Interactions, catalogue: Iterable[int]) -> Scores:
    """Scores by popularity: the users per item in ``train``."""
    items = sorted(catalogue)
    users, matrix = _matrix(train, items)
    return Scores(users, items, np.tile(matrix.sum(axis=0), (len(users), 1)), matrix > 0)


def item_knn(train: Interactions, catalogue: Iterable[int]) -> Scores:
    """Scores by item-kNN with cosine similarity, every neighbour kept."""
    items = sorted(catalogue)
    users, matrix = _matrix(train, items)
    together = matrix.T @ matrix  # users in common, per pair of items
    norms = np.sqrt(np.diag(together)).copy()
    norms[norms == 0] = 1.0
    similarity = together / np.outer(norms, norms)
    np.fill_diagonal(similarity, 0.0)
    return Scores(users, items, matrix @ similarity, matrix > 0)


def recency_neighbours(
    train: Timed, catalogue: Iterable[int], *, recent: int, half_life: float, neighbours: int
) -> Scores:
    """Scores by the ``graph`` strategy (docs/recommendations.md), with ``n_x`` the users of item
    x and ``deg v`` the items of user v (in the graph both count edges: each rating is a RATED and a PURCHASED edge,
    so the graph's scores are these divided by 2 sqrt 2, in the same order).

    ``w[u, j] = 0.5 ^ (rank / half_life)`` for u's ``recent`` latest items (by time, ties to the higher id);
    ``sim(u, v) = Σ_j w[u, j] [v has j] / sqrt(n_j) / sqrt(deg v)``; the ``neighbours`` most similar other users
    (ties to the lower id) give ``score(u, i) = Σ_v sim(u, v) [v has i] / sqrt(n_i)``.
    """
    items = sorted(catalogue)
    column = {item: index for index, item in enumerate(items)}
    users, matrix = _matrix(train, items)
    weights = np.zeros_like(matrix)
    for row, user in enumerate(users):
        latest = sorted(((at, item) for item, at in train[user].items() if item in column), reverse=True)
        for rank, (_at, item) in enumerate(latest[:recent]):
            weights[row, column[item]] = 0.5 ** (rank / half_life)
    counts = np.maximum(matrix.sum(axis=0), 1.0)
    degrees = np.maximum(matrix.sum(axis=1), 1.0)
    similarity = (weights / np.sqrt(counts)) @ matrix.T / np.sqrt(degrees)[None, :]
    np.fill_diagonal(similarity, 0.0)
    beyond = np.argsort(-similarity, axis=1, kind="stable")[:, neighbours:]
    np.put_along_axis(similarity, beyond, 0.0, axis=1)
    return Scores(users, items, similarity @ matrix / np.sqrt(counts), matrix > 0)


def liked_genres(
    ratings: Iterable[tuple[int, int, int]], genres_of: Mapping[int, Collection[str]], *, top: int = 3, liked: int = 4
) -> dict[int, list[str]]:
    """Per user, the ``top`` genres most frequent among the items they rated ``liked`` or more (ties to the name
    first in order): the preferences the bench gives each user, from ``(user, item, stars)`` training ratings only.
    The rule seeding uses for a profile's genres (gateway/jobs/datasets/movielens.py)."""
    counts: dict[int, dict[str, int]] = {}
    for user, item, stars in ratings:
        mine = counts.setdefault(user, {})
        if stars >= liked:
            for genre in genres_of.get(item, ()):
                mine[genre] = mine.get(genre, 0) + 1
    return {user: [g for g, _ in sorted(c.items(), key=lambda gc: (-gc[1], gc[0]))[:top]] for user, c in counts.items()}


def weighed(
    scores: Scores,
    users: Iterable[int],
    preferences: Mapping[int, Sequence[str]],
    genres_of: Mapping[int, Collection[str]],
    *,
    boost: float,
    pool: int,
    n: int,
) -> dict[int, list[int]]:
    """``scores``' best ``pool`` unseen items per user weighed by the user's preferred genres as the gateway weighs
    them (gateway/domain/preferences.py): ``score · (1 + boost · matched / len(preferences))``, sorted again (ties
    keep the order), the best ``n``."""
    row_of = {user: row for row, user in enumerate(scores.users)}
    column = {item: index for index, item in enumerate(scores.items)}
    out: dict[int, list[int]] = {}
    for user, ranked in scores.top(pool, users).items():
        liked = set(preferences.get(user, ()))
        values = scores.values[row_of[user]]
        keyed = []
        for rank, item in enumerate(ranked):
            matched = len(liked & set(genres_of.get(item, ()))) / len(liked) if liked else 0.0
            keyed.append((-float(values[column[item]]) * (1 + boost * matched), rank, item))
        out[user] = [item for _, _, item in sorted(keyed)[:n]]
    return out


async def held_out_present(sources: Sources, pairs: Sequence[tuple[int, int]]) -> dict[str, int]:
    """Where the stores hold any of these (user, product) pairs: MySQL ratings and order lines, MongoDB events,
    Neo4j relationships of any type between the two nodes. Every count is 0 when they were held out."""
    found = {f"mysql {name}": count for name, count in (await mysql_pairs.pairs_present(sources.mysql, pairs)).items()}
    found |= {f"mongodb {name}": n for name, n in (await mongo_pairs.pairs_present(sources.mongodb, pairs)).items()}
    found |= {f"neo4j {name}": n for name, n in (await neo4j_pairs.pairs_present(sources.neo4j, pairs)).items()}
    return found
