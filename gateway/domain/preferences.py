"""A user's preferences (MongoDB ``user_profiles.preferences``) and how they weigh a recommendation list.

Stored as ``{"genres": [category names], "category_ids": [category ids as text]}`` (``updateProfile``;
seeding writes ``genres``, the synthetic data ``categories``, which nothing weighs). A genre is a category's name:
MovieLens genres are the categories under "Movies".

Weighing (docs/recommendations.md#a-category-and-the-users-preferences): the strategy's best ``MAX_TOP`` products
are the pool; a product ``i`` matches ``m(i)`` of the user's ``P`` preferences (a preferred genre is the name of
one of its categories or of an ancestor; a preferred category is one of its categories or an ancestor), and scores
``score(i) · (1 + BOOST · m(i) / P)``; the pool is sorted again (ties keep the strategy's order) and cut to the
limit. Multiplying keeps the weighing independent of each strategy's scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_GENRES = 10
MAX_CATEGORIES = 10
# How much a product matching every preference is lifted (x 1.15): the best validation HR@10 and NDCG@10 of the grid
# bench/quality.py prints (MovieLens, the split before the held-out ratings; 0.5 and more do worse than no weighing).
BOOST = 0.15

GENRES = "genres"
CATEGORY_IDS = "category_ids"


@dataclass(frozen=True, slots=True)
class Preferences:
    genres: tuple[str, ...] = ()
    category_ids: tuple[int, ...] = ()

    @classmethod
    def stored(cls, preferences: Mapping[str, Iterable[str]]) -> Preferences:
        """What a profile holds, as preferences; values that are not category ids are left out."""
        ids = [int(text) for text in preferences.get(CATEGORY_IDS, ()) if str(text).isdecimal()]
        return cls(tuple(preferences.get(GENRES, ())), tuple(ids))

    def __len__(self) -> int:
        return len(self.genres) + len(self.category_ids)

    def matched(self, names: Iterable[str], ids: Iterable[int], labels: Mapping[int, str] | None = None) -> list[str]:
        """The preferences a product with these category names and ids (its own and their ancestors') matches:
        genres as written, categories by their ``labels`` (else ``#<id>``)."""
        lowered = {name.casefold() for name in names}
        have = set(ids)
        found = [genre for genre in self.genres if genre.casefold() in lowered]
        return found + [(labels or {}).get(c, f"#{c}") for c in self.category_ids if c in have]

    def weight(self, matched: int) -> float:
        """The factor of a product's score that matches ``matched`` of these preferences."""
        return 1.0 + BOOST * matched / len(self) if len(self) else 1.0
