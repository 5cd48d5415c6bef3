"""The leave-last-out split: each user's last rating by (timestamp, item id) is held out, everything derived from
ratings is derived from the rest."""

from __future__ import annotations

from gateway.config import Settings
from gateway.jobs.datasets import movielens
from gateway.jobs.datasets.holdout import last_interactions, leave_last_out
from gateway.jobs.datasets.movielens import read_texts
from gateway.jobs.datasets.rows import Dataset

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"


def test_the_last_interaction_is_the_latest_and_of_one_second_the_highest_item() -> None:
    interactions = [(1, 5, 100), (1, 9, 200), (1, 3, 200), (2, 7, 50), (2, 2, 40), (3, 4, 10)]
    assert last_interactions(interactions) == {1: 9, 2: 7, 3: 4}
    assert last_interactions(reversed(interactions)) == {1: 9, 2: 7, 3: 4}  # the order of the lines does not matter


def test_the_held_out_lines_leave_the_texts_and_the_rest_stays() -> None:
    lines = ["1\t5\t4\t100", "1\t9\t2\t200", "1\t3\t5\t200", "2\t7\t1\t50", "2\t2\t3\t40", "3\t4\t3\t10"]
    split = leave_last_out({"ml-100k.inter": "\n".join([HEADER, *lines]) + "\n", "ml-100k.user": "kept as is"})
    assert split.held_out == {1: 9, 2: 7}  # user 3 has a single rating: kept, not evaluated
    assert split.texts["ml-100k.inter"].splitlines() == [HEADER, lines[0], lines[2], lines[4], lines[5]]
    assert split.texts["ml-100k.user"] == "kept as is"


def test_movielens_holds_out_one_rating_per_user_and_orders_come_from_the_rest(
    settings: Settings, movielens_dataset: Dataset
) -> None:
    split = leave_last_out(read_texts(movielens.ensure_wheel(settings.cache_dir)))
    train = movielens.load_from_texts(split.texts)
    assert len(split.held_out) == 943
    assert len(train.ratings) == 100_000 - 943
    every: dict[int, list[tuple[float, int]]] = {}
    for rating in movielens_dataset.ratings:
        every.setdefault(rating.user_id, []).append((rating.created_at.timestamp(), rating.product_id))
    assert split.held_out == {user: max(rated)[1] for user, rated in every.items()}
    ties = [user for user, rated in every.items() if sum(at == max(rated)[0] for at, _ in rated) > 1]
    assert len(ties) > 100  # the tie-break decides for many users: the higher item id of their last second
    kept = {(r.user_id, r.product_id) for r in train.ratings}
    assert not kept & set(split.held_out.items())
    lines = {(o.user_id, item.product_id) for o in train.orders for item in o.items}
    assert lines == kept  # every order line is a training rating, none is held out
