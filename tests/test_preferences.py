"""gateway/domain/preferences.py: what a profile's preferences are, what a product matches, and its weight."""

from __future__ import annotations

import pytest

from gateway.domain.preferences import BOOST, Preferences


def test_stored_preferences_keep_what_is_readable() -> None:
    stored = {"genres": ["Drama", "Film-Noir"], "category_ids": ["3", "x", "12"], "categories": ["Books"]}
    assert Preferences.stored(stored) == Preferences(("Drama", "Film-Noir"), (3, 12))
    assert len(Preferences.stored({})) == 0


def test_a_product_matches_genres_by_name_and_categories_by_id() -> None:
    preferences = Preferences(("Drama", "film-noir"), (7,))
    assert preferences.matched({"drama", "Movies"}, {1, 9}) == ["Drama"]
    assert preferences.matched({"Film-Noir", "Drama"}, {7, 1}) == ["Drama", "film-noir", "#7"]
    assert preferences.matched(set(), set()) == []
    assert preferences.matched({"Horror"}, {7}, {7: "Horror"}) == ["Horror"]  # a category by its name


def test_the_weight_grows_with_the_share_of_preferences_matched() -> None:
    preferences = Preferences(("Drama", "Comedy"), (7, 8))
    assert preferences.weight(0) == 1.0
    assert preferences.weight(2) == pytest.approx(1 + BOOST / 2)
    assert preferences.weight(4) == pytest.approx(1 + BOOST)
    assert Preferences().weight(0) == 1.0
