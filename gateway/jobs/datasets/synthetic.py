"""A deterministic synthetic dataset for scale runs (10k .. 1M orders), with a few very heavy users.

Everything comes from one ``random.Random(seed)``: the same ``orders`` and ``seed`` give the same rows, ids and
values. Scale: ``max(50, orders // 20)`` users, ``max(100, min(50_000, orders // 20))`` products, a root category
and 12 subcategories, each with a small typed attribute registry that the product documents respect.

Orders: ids 1..N in time order, spread uniformly over 2024-01-01 .. 2025-12-31 UTC, 1..5 distinct products each
(popularity is Zipf-like), quantity 1..3, mostly ``delivered``. Users 1, 2 and 3 are heavy: each holds
``max(1001, N // 100)`` orders when N >= 5,000 (over 1,000 each, for batching tests that need long lists); below
that, ``min(1001, N // 5)`` each (about 60% of all orders between them). Ratings: about 30% of delivered order
lines are rated, at most once per (user, product), 1..30 days after the order.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gateway.domain.attributes import AttributeType, AttributeValue
from gateway.jobs.datasets.rows import (
    AttributeSpec,
    Category,
    Dataset,
    Order,
    OrderItem,
    Product,
    ProductDocument,
    Rating,
    User,
    UserProfileDocument,
)

OrderStatus = Literal["pending", "paid", "shipped", "delivered", "cancelled"]
ROOT_CATEGORY_ID = 1
HEAVY_USERS = (1, 2, 3)
ORDERS_FROM = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
ORDERS_UNTIL = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())  # exclusive
CREATED_FROM = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())  # users and products exist before any order
DAY = 86_400
RATED_SHARE = 0.3

STATUSES: tuple[OrderStatus, ...] = ("delivered", "shipped", "paid", "pending", "cancelled")
STATUS_WEIGHTS = (88, 4, 3, 2, 3)
LINES_WEIGHTS = (35, 25, 20, 12, 8)  # 1..5 lines per order
STARS_WEIGHTS = (5, 8, 20, 35, 32)  # ratings 1..5
OCCUPATIONS = ("engineer", "student", "teacher", "artist", "nurse", "retired", "writer", "lawyer", "other")
ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Light", "Pro", "Smart", "Sturdy", "Ultra", "Vintage")
COLORS = ("black", "white", "red", "blue", "green", "grey", "yellow", "brown")
BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Hooli", "Vehement", "Soylent")
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SHOE_SIZES = tuple(str(size) for size in range(36, 47))
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "pt")
MATERIALS = ("cotton", "wool", "polyester", "leather", "steel", "wood", "plastic", "glass", "bamboo")


@dataclass(frozen=True, slots=True)
class _Attribute:
    name: str
    type: AttributeType
    choices: tuple[str, ...] = ()
    low: float = 0
    high: float = 0


_BRAND = _Attribute("brand", "str", BRANDS)
_COLOR = _Attribute("color", "str", COLORS)
_WEIGHT = _Attribute("weight_g", "int", low=20, high=20_000)
_WATERPROOF = _Attribute("waterproof", "bool")
_MATERIALS = _Attribute("materials", "list[str]", MATERIALS)

# (name, nouns for titles, attributes beyond "brand"); an attribute name has the same type in every category.
CATEGORIES: tuple[tuple[str, tuple[str, ...], tuple[_Attribute, ...]], ...] = (
    (
        "Electronics",
        ("Headphones", "Speaker", "Charger", "Monitor"),
        (_COLOR, _WEIGHT, _Attribute("wireless", "bool"), _Attribute("battery_hours", "float", low=1, high=48)),
    ),
    (
        "Books",
        ("Novel", "Cookbook", "Atlas", "Guide"),
        (
            _Attribute("pages", "int", low=60, high=1200),
            _Attribute("languages", "list[str]", LANGUAGES),
            _Attribute("hardcover", "bool"),
        ),
    ),
    (
        "Clothing",
        ("Jacket", "Shirt", "Sweater", "Trousers"),
        (_COLOR, _Attribute("sizes", "list[str]", SIZES), _MATERIALS, _WATERPROOF),
    ),
    (
        "Shoes",
        ("Sneakers", "Boots", "Sandals", "Loafers"),
        (_COLOR, _Attribute("shoe_sizes", "list[str]", SHOE_SIZES), _WATERPROOF),
    ),
    ("Outdoor", ("Tent", "Backpack", "Lantern", "Sleeping Bag"), (_WEIGHT, _WATERPROOF, _COLOR, _MATERIALS)),
    (
        "Kitchen",
        ("Pan", "Knife", "Kettle", "Blender"),
        (_MATERIALS, _Attribute("dishwasher_safe", "bool"), _Attribute("capacity_l", "float", low=0.2, high=12)),
    ),
    (
        "Toys",
        ("Puzzle", "Robot", "Doll", "Blocks"),
        (_Attribute("min_age", "int", low=0, high=14), _Attribute("pieces", "int", low=1, high=3000), _COLOR),
    ),
    ("Sports", ("Ball", "Racket", "Helmet", "Mat"), (_WEIGHT, _COLOR, _Attribute("sizes", "list[str]", SIZES))),
    (
        "Beauty",
        ("Cream", "Shampoo", "Serum", "Soap"),
        (_Attribute("volume_ml", "int", low=10, high=1000), _Attribute("vegan", "bool")),
    ),
    ("Garden", ("Hose", "Shovel", "Planter", "Pruner"), (_MATERIALS, _WEIGHT, _WATERPROOF)),
    ("Office", ("Chair", "Desk Lamp", "Notebook", "Stapler"), (_COLOR, _MATERIALS, _WEIGHT)),
    (
        "Grocery",
        ("Coffee", "Tea", "Chocolate", "Olive Oil"),
        (
            _Attribute("organic", "bool"),
            _WEIGHT,
            _Attribute("origins", "list[str]", ("BR", "CO", "ET", "IN", "IT", "KE", "ES", "VN")),
        ),
    ),
)


def _value(rng: random.Random, attribute: _Attribute) -> AttributeValue:
    if attribute.type == "str":
        return rng.choice(attribute.choices)
    if attribute.type == "int":
        return rng.randint(int(attribute.low), int(attribute.high))
    if attribute.type == "float":
        return round(rng.uniform(attribute.low, attribute.high), 1)
    if attribute.type == "bool":
        return rng.random() < 0.5
    return sorted(rng.sample(attribute.choices, rng.randint(1, min(4, len(attribute.choices)))))


def heavy_orders_each(orders: int) -> int:
    """How many orders each of users 1, 2 and 3 holds."""
    if orders >= 5_000:
        return max(1_001, orders // 100)
    return min(1_001, max(math.ceil(orders / 10), orders // 5))


def _timestamp(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def generate(*, orders: int, seed: int = 42) -> Dataset:
    if orders < 0:
        raise ValueError("orders must be >= 0")
    rng = random.Random(seed)
    user_count = max(50, orders // 20)
    product_count = max(100, min(50_000, orders // 20))
    dataset = Dataset(name=f"synthetic-{orders}-seed{seed}")

    for user_id in range(1, user_count + 1):
        age = rng.randint(18, 80)
        gender = rng.choice(("F", "M"))
        occupation = rng.choice(OCCUPATIONS)
        zip_code = f"{rng.randint(0, 99_999):05d}"
        created = _timestamp(rng.randrange(CREATED_FROM, ORDERS_FROM))
        name = f"Synthetic user {user_id}"
        email = f"user{user_id}@synthetic.example"
        dataset.users.append(User(user_id, email, name, age, gender, occupation, zip_code, created))

    dataset.categories.append(Category(ROOT_CATEGORY_ID, "All products", None))
    by_category: dict[int, tuple[str, tuple[str, ...], tuple[_Attribute, ...]]] = {}
    dataset.registry.append(AttributeSpec(ROOT_CATEGORY_ID, "brand", "str", "maker"))
    for category_id, (name, nouns, attributes) in enumerate(CATEGORIES, start=ROOT_CATEGORY_ID + 1):
        dataset.categories.append(Category(category_id, name, ROOT_CATEGORY_ID))
        by_category[category_id] = (name, nouns, (_BRAND, *attributes))
        for attribute in (_BRAND, *attributes):
            description = f"{name}: {attribute.name.replace('_', ' ')}"
            dataset.registry.append(AttributeSpec(category_id, attribute.name, attribute.type, description))

    subcategory_ids = list(by_category)
    prices: list[int] = [0]
    for product_id in range(1, product_count + 1):
        category_ids = [rng.choice(subcategory_ids)]
        if rng.random() < 0.1:
            category_ids.append(rng.choice([c for c in subcategory_ids if c != category_ids[0]]))
        name, nouns, _attrs = by_category[category_ids[0]]
        brand = rng.choice(BRANDS)
        title = f"{brand} {rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
        price = rng.randint(199, 49_999)
        prices.append(price)
        year = rng.randint(2015, 2023)
        created = _timestamp(rng.randrange(CREATED_FROM, ORDERS_FROM))
        stock = rng.randint(50, 1_000)
        sku = f"SYN-{product_id:06d}"
        category_tuple = tuple(sorted(category_ids))
        dataset.products.append(Product(product_id, sku, title, price, "USD", year, created, category_tuple, stock))
        values: dict[str, AttributeValue] = {"brand": brand}
        for category_id in category_ids:
            for attribute in by_category[category_id][2]:
                if attribute.name not in values and rng.random() < 0.85:
                    values[attribute.name] = _value(rng, attribute)
        tags = tuple(by_category[category_id][0].lower() for category_id in category_ids)
        image = f"/images/products/{product_id}.jpg"
        dataset.product_documents.append(
            ProductDocument(product_id, values, f"{title}, {name.lower()}", tags, (image,))
        )

    # Zipf-like popularity over a shuffled ranking, so that popular products are not simply the low ids.
    ranking = list(range(1, product_count + 1))
    rng.shuffle(ranking)
    cumulative = list(itertools.accumulate(1 / (rank + 5) ** 0.9 for rank in range(product_count)))

    each = heavy_orders_each(orders)
    owners = [HEAVY_USERS[index % 3] for index in range(min(orders, 3 * each))]
    owners += [rng.randint(4, user_count) for _ in range(orders - len(owners))]
    rng.shuffle(owners)
    times = sorted(rng.randrange(ORDERS_FROM, ORDERS_UNTIL) for _ in range(orders))

    sequence = [0] * (user_count + 1)
    rating_count = [0] * (user_count + 1)
    rating_sum = [0] * (user_count + 1)
    rated: set[int] = set()
    lines = (1, 2, 3, 4, 5)
    stars = (1, 2, 3, 4, 5)
    stride = product_count + 1
    for index in range(orders):
        user_id, ts = owners[index], times[index]
        sequence[user_id] += 1
        created = _timestamp(ts)
        count = rng.choices(lines, LINES_WEIGHTS)[0]
        picked = dict.fromkeys(rng.choices(ranking, cum_weights=cumulative, k=count))
        items = tuple(OrderItem(product_id, rng.randint(1, 3), prices[product_id]) for product_id in picked)
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        key = f"synthetic:{seed}:{user_id}:{sequence[user_id]}"
        dataset.orders.append(Order(index + 1, user_id, status, key, created, items))
        if status != "delivered":
            continue
        for product_id in picked:
            if rng.random() >= RATED_SHARE or user_id * stride + product_id in rated:
                continue
            rated.add(user_id * stride + product_id)
            value = rng.choices(stars, STARS_WEIGHTS)[0]
            when = _timestamp(min(ts + rng.randint(1, 30) * DAY, ORDERS_UNTIL - 1))
            dataset.ratings.append(Rating(user_id, product_id, value, when))
            rating_count[user_id] += 1
            rating_sum[user_id] += value

    names = [by_category[category_id][0] for category_id in subcategory_ids]
    for user_id in range(1, user_count + 1):
        favourites = sorted(rng.sample(names, rng.randint(1, 3)))
        stats: dict[str, float | int] = {"orders": sequence[user_id], "ratings": rating_count[user_id]}
        if rating_count[user_id]:
            stats["rating_avg"] = round(rating_sum[user_id] / rating_count[user_id], 3)
        dataset.profiles.append(UserProfileDocument(user_id, {"categories": favourites}, stats))
    return dataset
