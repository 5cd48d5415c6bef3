"""HR@N and NDCG@N on hand-computed examples, and the two baselines on a toy whose answers are worked out by hand."""

from __future__ import annotations

import math

import pytest
from evaluation import evaluate, item_knn, popularity, rank_of, recency_neighbours  # bench/evaluation.py


def test_hit_rate_and_ndcg_by_hand() -> None:
    held_out = {1: 10, 2: 20, 3: 30, 4: 40, 5: 50}
    ranked = {
        1: [10, 11, 12],  # rank 1: gain 1
        2: [5, 6, 20, 7],  # rank 3: gain 1 / log2(4) = 0.5
        3: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],  # not there
        4: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 40],  # 11th: outside the top 10
        # 5: no list at all, a miss
    }
    quality = evaluate(ranked, held_out, 10)
    assert (quality.users, quality.hits) == (5, 2)
    assert quality.hit_rate == pytest.approx(2 / 5)
    assert quality.ndcg == pytest.approx((1 + 0.5) / 5)
    assert evaluate(ranked, held_out, 2).hits == 1  # at N = 2, user 2's rank 3 no longer counts
    assert evaluate({7: [3, 1, 2]}, {7: 2}, 3).ndcg == pytest.approx(1 / math.log2(4))
    assert rank_of([4, 5, 6], 6, 3) == 3
    assert rank_of([4, 5, 6], 6, 2) is None


def test_nothing_to_evaluate_is_an_error() -> None:
    with pytest.raises(ValueError, match="no held-out"):
        evaluate({1: [1]}, {})


# Users 1..3 over items 1..5: item 1 has users {1, 2, 3}, item 2 {1, 3}, item 3 {2}, item 4 {3}, item 5 nobody.
TRAIN = {1: {1, 2}, 2: {1, 3}, 3: {1, 2, 4}}
CATALOGUE = [5, 4, 3, 2, 1]  # any order: ranked ascending


def test_popularity_ranks_by_users_then_lower_id_without_own_items() -> None:
    # counts: 1 → 3, 2 → 2, 3 → 1, 4 → 1, 5 → 0
    assert popularity(TRAIN, CATALOGUE).top(3) == {1: [3, 4, 5], 2: [2, 4, 5], 3: [3, 5]}


def test_item_knn_sums_cosine_similarities_to_own_items() -> None:
    # sim(1,2) = 2/sqrt(3*2), sim(1,3) = sim(1,4) = 1/sqrt(3), sim(2,4) = 1/sqrt(2), sim(2,3) = sim(3,4) = 0
    scores = item_knn(TRAIN, CATALOGUE)
    assert scores.of(1) == pytest.approx({3: 1 / math.sqrt(3), 4: 1 / math.sqrt(3) + 1 / math.sqrt(2), 5: 0.0})
    assert scores.of(2) == pytest.approx({2: 2 / math.sqrt(6), 4: 1 / math.sqrt(3), 5: 0.0})
    assert scores.top(2) == {1: [4, 3], 2: [2, 4], 3: [3, 5]}  # user 3: both 0, the lower id first


def test_recency_neighbours_weighs_recent_items_shared_items_and_popularity() -> None:
    # User 1 had item 1 long ago and item 2 lately (half-life 1: weights 1 for item 2, 0.5 for item 1).
    # sim(1, 2) = 0.5 / sqrt(3) / sqrt(2) (item 1 only); sim(1, 3) = (0.5 / sqrt(3) + 1 / sqrt(2)) / sqrt(3).
    # item 3 (user 2's, 1 user): sim(1, 2) / 1; item 4 (user 3's, 1 user): sim(1, 3) / 1.
    timed = {1: {1: 10.0, 2: 20.0}, 2: {1: 5.0, 3: 6.0}, 3: {1: 1.0, 2: 2.0, 4: 3.0}}
    scores = recency_neighbours(timed, CATALOGUE, recent=20, half_life=1.0, neighbours=5)
    near_2 = 0.5 / math.sqrt(3) / math.sqrt(2)
    near_3 = (0.5 / math.sqrt(3) + 1 / math.sqrt(2)) / math.sqrt(3)
    assert scores.of(1) == pytest.approx({3: near_2, 4: near_3, 5: 0.0})
    assert scores.top(2, [1]) == {1: [4, 3]}
    only_one = recency_neighbours(timed, CATALOGUE, recent=20, half_life=1.0, neighbours=1)
    assert only_one.of(1) == pytest.approx({3: 0.0, 4: near_3, 5: 0.0})  # user 2 is no longer a neighbour
    latest_only = recency_neighbours(timed, CATALOGUE, recent=1, half_life=1.0, neighbours=5)
    assert latest_only.of(1)[3] == 0.0  # item 1 is not among user 1's latest 1: user 2 shares nothing recent
