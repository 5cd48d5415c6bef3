"""The synthetic generator: deterministic, heavy users, registry respected, every key it references exists."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from gateway.domain.attributes import AttributeValue
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.datasets.synthetic import generate, heavy_orders_each


@pytest.fixture(scope="module")
def ten_k() -> Dataset:
    return generate(orders=10_000)


def has_type(value: AttributeValue, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, float)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def test_same_seed_same_dataset() -> None:
    first = generate(orders=3_000, seed=7)
    assert generate(orders=3_000, seed=7) == first
    other = generate(orders=3_000, seed=8)
    assert [order.items for order in other.orders] != [order.items for order in first.orders]


def test_scale(ten_k: Dataset) -> None:
    assert len(ten_k.orders) == 10_000
    assert len(ten_k.users) == 500
    assert len(ten_k.products) == 500
    assert len(ten_k.categories) == 13
    assert len(ten_k.profiles) == len(ten_k.users)
    assert ten_k.problems == []
    small = generate(orders=10)
    assert (len(small.users), len(small.products), len(small.orders)) == (50, 100, 10)


def test_heavy_users_hold_over_a_thousand_orders(ten_k: Dataset) -> None:
    per_user = Counter(order.user_id for order in ten_k.orders)
    assert all(per_user[user_id] > 1_000 for user_id in (1, 2, 3))
    assert max(count for user_id, count in per_user.items() if user_id > 3) < 100
    for user_id in (1, 2, 3):
        keys = [order.idempotency_key for order in ten_k.orders if order.user_id == user_id]
        assert keys == [f"synthetic:42:{user_id}:{n}" for n in range(1, per_user[user_id] + 1)]


@pytest.mark.parametrize("orders", [1, 2, 10, 1_000, 4_999, 5_000])
def test_heavy_users_below_five_thousand_orders(orders: int) -> None:
    per_user = Counter(order.user_id for order in generate(orders=orders).orders)
    heavy = sum(per_user[user_id] for user_id in (1, 2, 3))
    assert heavy >= 0.3 * orders
    assert heavy_orders_each(orders) <= 1_001
    if orders >= 5_000:
        assert min(per_user[user_id] for user_id in (1, 2, 3)) > 1_000


def test_documents_respect_the_registry(ten_k: Dataset) -> None:
    registry: dict[int, dict[str, str]] = defaultdict(dict)
    types: dict[str, set[str]] = defaultdict(set)
    for spec in ten_k.registry:
        registry[spec.category_id][spec.name] = spec.type
        types[spec.name].add(spec.type)
    assert all(len(kinds) == 1 for kinds in types.values())  # one name, one type, whatever the category
    assert {category.id for category in ten_k.categories} == set(registry)
    categories = {product.id: product.category_ids for product in ten_k.products}
    assert [document.product_id for document in ten_k.product_documents] == list(categories)
    seen_types: set[str] = set()
    for document in ten_k.product_documents:
        for name, value in document.attributes.items():
            kinds = [registry[category_id].get(name) for category_id in categories[document.product_id]]
            assert any(kind is not None and has_type(value, kind) for kind in kinds), (document.product_id, name)
            seen_types.update(kind for kind in kinds if kind is not None)
    assert seen_types == {"int", "float", "str", "bool", "list[str]"}


def test_orders_reference_existing_rows(ten_k: Dataset) -> None:
    users = {user.id for user in ten_k.users}
    prices = {product.id: product.price_cents for product in ten_k.products}
    assert all(product.category_ids and 1 not in product.category_ids for product in ten_k.products)
    assert [order.id for order in ten_k.orders] == list(range(1, 10_001))
    assert len({order.idempotency_key for order in ten_k.orders}) == 10_000
    times = [order.created_at for order in ten_k.orders]
    assert times == sorted(times)
    assert datetime(2024, 1, 1, tzinfo=UTC) <= times[0]
    assert times[-1] < datetime(2026, 1, 1, tzinfo=UTC)
    assert Counter(order.status for order in ten_k.orders).most_common(1)[0][0] == "delivered"
    for order in ten_k.orders:
        assert order.user_id in users
        assert 1 <= len(order.items) <= 5
        assert len({item.product_id for item in order.items}) == len(order.items)
        for item in order.items:
            assert item.unit_price_cents == prices[item.product_id]
            assert 1 <= item.quantity <= 3
    first_order = {user.id: user.created_at for user in ten_k.users}
    assert all(first_order[order.user_id] < order.created_at for order in ten_k.orders)


def test_ratings_are_unique_per_user_and_product_and_follow_a_purchase(ten_k: Dataset) -> None:
    pairs = [(rating.user_id, rating.product_id) for rating in ten_k.ratings]
    assert len(pairs) == len(set(pairs))
    assert len(pairs) > 1_000
    delivered = {
        (order.user_id, item.product_id)
        for order in ten_k.orders
        if order.status == "delivered"
        for item in order.items
    }
    assert set(pairs) <= delivered
    assert all(1 <= rating.rating <= 5 and rating.created_at.tzinfo is not None for rating in ten_k.ratings)
    counts = Counter(rating.user_id for rating in ten_k.ratings)
    assert all(profile.stats["ratings"] == counts[profile.user_id] for profile in ten_k.profiles)


def test_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError, match="orders"):
        generate(orders=-1)
    assert generate(orders=0).orders == []
