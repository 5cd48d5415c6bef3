"""Leave-last-out: each user's last interaction held out of the data a recommender may see.

"Last" is the greatest ``(timestamp, item id)`` of the user's ratings: of several ratings in the same second, the
one with the highest item id is held out (the order movielens.py gives each user's ratings, and so its orders).
The split works on the ml-100k texts, before they are mapped: what is seeded is MovieLens without the held-out
lines, so every row derived from the ratings (orders and their lines, PURCHASED and RATED edges, profiles,
metrics) is derived from the training ratings alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.jobs.datasets.movielens_kg import parse_id, parse_whole, read_table
from gateway.jobs.datasets.rows import Rating

INTERACTIONS = "ml-100k.inter"


@dataclass(frozen=True, slots=True)
class Split:
    texts: dict[str, str]  # the ml-100k files without the held-out ratings
    held_out: dict[int, int]  # user id -> the product id of their last interaction


def last_interactions(interactions: Iterable[tuple[int, int, int]]) -> dict[int, int]:
    """``(user, item, timestamp)`` -> user -> the item of their greatest ``(timestamp, item)``."""
    last: dict[int, tuple[int, int]] = {}
    for user, item, timestamp in interactions:
        if user not in last or (timestamp, item) > last[user]:
            last[user] = (timestamp, item)
    return {user: item for user, (_timestamp, item) in last.items()}


def training_times(ratings: Iterable[Rating]) -> dict[int, dict[int, float]]:
    """user -> product -> the time (epoch seconds) of the user's rating of it: what a recommender may learn from."""
    train: dict[int, dict[int, float]] = {}
    for rating in ratings:
        train.setdefault(rating.user_id, {})[rating.product_id] = rating.created_at.timestamp()
    return train


def latest(train: dict[int, dict[int, float]]) -> dict[int, int]:
    """user -> the product of their last training rating (the same order as the split's)."""
    return last_interactions((user, item, int(at)) for user, items in train.items() for item, at in items.items())


def _interactions(text: str) -> Iterable[tuple[int, int, int, int]]:
    """``(line index, user, item, timestamp)`` of every row that parses; the rest is left to movielens.py."""
    for number, row in read_table(INTERACTIONS, text, ("user_id", "item_id", "timestamp"), []):
        user, item, timestamp = parse_id(row["user_id"]), parse_id(row["item_id"]), parse_whole(row["timestamp"])
        if user is not None and item is not None and timestamp is not None:
            yield number - 1, user, item, timestamp


def leave_last_out(texts: dict[str, str]) -> Split:
    """The ml-100k texts without each user's last rating (by time, ties by item id), and what was held out.
    A user with a single rating keeps it (nothing would be left to learn from) and is not evaluated."""
    text = texts[INTERACTIONS]
    rows = list(_interactions(text))
    counts: dict[int, int] = {}
    for _index, user, _item, _timestamp in rows:
        counts[user] = counts.get(user, 0) + 1
    held_out = last_interactions((user, item, ts) for _i, user, item, ts in rows if counts[user] > 1)
    dropped = {index for index, user, item, _ts in rows if held_out.get(user) == item}
    kept = [line for index, line in enumerate(text.splitlines()) if index not in dropped]
    return Split({**texts, INTERACTIONS: "\n".join(kept) + "\n"}, held_out)
