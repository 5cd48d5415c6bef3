"""MovieLens-100K, read straight out of the ``recbole==1.2.1`` wheel, mapped to store-neutral rows.

The data's licence forbids redistribution: the wheel is downloaded into a cache folder at setup and the files
are read from it with :mod:`zipfile`; nothing is extracted, nothing lands in the repository.

Mapping (why: docs/ARCHITECTURE.md):

- users -> User, ``created_at`` = the user's first rating (UTC); email and name are made up from the id.
- genres -> categories: root ``Movies`` (id 1) and one subcategory per genre, ids 2.. in sorted genre-name order;
  a movie belongs to each of its genres (a movie with no genre gets ``unknown`` if the data has that genre).
- movies -> Product. **Prices and stock are synthetic**, deterministic from the product id only:
  ``price_cents = 499 + (id * 7919) % 1500`` (4.99 .. 19.98 USD), ``stock = 20 + id % 80``.
  ``created_at`` = 1 January of the release year (1995-01-01 when the year is unknown). A year that the item file
  lacks but the title ends with, ``Title (1995)``, is taken from the title.
- ratings -> Rating. Orders: each user's ratings in time order (ties by item id), split per UTC calendar day into
  orders of at most 5 lines, one unit each at the product's price; ids 1.. in (user, time, first item) order.
- Mongo documents: year, genres and a few knowledge-graph facts (movielens_kg.KG_RELATIONS) per product, all
  registered for the root and every genre; a profile per user with their top genres and rating stats.

A row that cannot be parsed is not loaded and is reported as a Problem (file, 1-based line incl. header, reason).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from gateway.domain.attributes import AttributeType, AttributeValue
from gateway.jobs.datasets.movielens_kg import KG_RELATIONS, kg_attributes, read_items, read_ratings, read_users
from gateway.jobs.datasets.rows import (
    AttributeSpec,
    Category,
    Dataset,
    Order,
    OrderItem,
    Problem,
    Product,
    ProductDocument,
    Rating,
    User,
    UserProfileDocument,
)

WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
MEMBER_DIR = "recbole/dataset_example/ml-100k/"
FILES = ("ml-100k.inter", "ml-100k.item", "ml-100k.user", "ml-100k.kg", "ml-100k.link")
ROOT_CATEGORY_ID = 1
ORDER_MAX_LINES = 5
UNKNOWN_YEAR_DATE = datetime(1995, 1, 1, tzinfo=UTC)
NO_RATING_DATE = datetime(1998, 4, 23, tzinfo=UTC)  # a user without ratings (only in hand-made inputs)


def ensure_wheel(cache_dir: Path) -> Path:
    """The path of the recbole wheel in ``cache_dir/wheels``, downloaded with pip (no dependencies) if missing."""
    wheels = cache_dir / "wheels"
    wheel = wheels / WHEEL_NAME
    if wheel.is_file():
        return wheel
    wheels.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q"]
    command += ["recbole==1.2.1", "-d", str(wheels)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip download recbole==1.2.1 failed ({result.returncode}): {result.stderr.strip()}")
    if not wheel.is_file():
        raise RuntimeError(f"pip download recbole==1.2.1 did not produce {wheel}: {result.stderr.strip()}")
    return wheel


def read_texts(wheel: Path) -> dict[str, str]:
    """The five ml-100k files out of the recbole wheel (no extraction), as ``load_from_texts`` takes them."""
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(MEMBER_DIR + name).decode("utf-8") for name in FILES}


def load(wheel: Path) -> Dataset:
    """Read the five ml-100k files out of the wheel and map them."""
    return load_from_texts(read_texts(wheel))


def price_cents(product_id: int) -> int:
    return 499 + (product_id * 7919) % 1500


def stock(product_id: int) -> int:
    return 20 + product_id % 80


def _orders(ratings: list[tuple[int, int, int, int]], prices: dict[int, int]) -> list[Order]:
    """Per user, in time order: a new order on each new UTC day, or when the current one has 5 lines."""
    orders: list[Order] = []
    current: list[tuple[int, int, int, int]] = []
    sequence: Counter[int] = Counter()

    def close() -> None:
        user_id, timestamp = current[0][0], current[0][1]
        sequence[user_id] += 1
        items = tuple(OrderItem(item_id, 1, prices[item_id]) for _u, _t, item_id, _r in current)
        key = f"ml100k:{user_id}:{sequence[user_id]}"
        created = datetime.fromtimestamp(timestamp, UTC)
        orders.append(Order(len(orders) + 1, user_id, "delivered", key, created, items))
        current.clear()

    for rating in ratings:
        if current and (
            rating[0] != current[0][0]
            or rating[1] // 86400 != current[0][1] // 86400
            or len(current) == ORDER_MAX_LINES
        ):
            close()
        current.append(rating)
    if current:
        close()
    return orders


def load_from_texts(texts: dict[str, str]) -> Dataset:
    """Map the ml-100k files given as ``{file name: content}``; ``.kg`` and ``.link`` may be absent."""
    problems: list[Problem] = []
    raw_users = read_users(texts.get("ml-100k.user", ""), problems)
    raw_items = read_items(texts.get("ml-100k.item", ""), problems)
    ratings = read_ratings(texts.get("ml-100k.inter", ""), raw_users, raw_items, problems)
    kg_text, link_text = texts.get("ml-100k.kg"), texts.get("ml-100k.link")
    kg = kg_attributes(kg_text, link_text, set(raw_items), problems) if kg_text and link_text else {}

    all_genres = sorted({genre for _title, _year, genres in raw_items.values() for genre in genres})
    genre_ids = {genre: index for index, genre in enumerate(all_genres, start=ROOT_CATEGORY_ID + 1)}
    categories = [Category(ROOT_CATEGORY_ID, "Movies", None)]
    categories += [Category(category_id, genre, ROOT_CATEGORY_ID) for genre, category_id in genre_ids.items()]

    attribute_types: dict[str, AttributeType] = {"release_year": "int", "genres": "list[str]"}
    attribute_types.update(dict.fromkeys(sorted(KG_RELATIONS.values()), "list[str]"))
    registry = [
        AttributeSpec(category.id, attribute, kind, f"MovieLens {attribute.replace('_', ' ')}")
        for category in categories
        for attribute, kind in attribute_types.items()
    ]

    products: list[Product] = []
    documents: list[ProductDocument] = []
    item_genres: dict[int, list[str]] = {}
    for item_id, (title, year, genres) in sorted(raw_items.items()):
        if not genres and "unknown" in genre_ids:
            genres = ["unknown"]
        item_genres[item_id] = genres
        created = datetime(year, 1, 1, tzinfo=UTC) if year is not None else UNKNOWN_YEAR_DATE
        category_ids = tuple(sorted(genre_ids[genre] for genre in genres)) or (ROOT_CATEGORY_ID,)
        sku = f"ML-{item_id:05d}"
        products.append(
            Product(item_id, sku, title, price_cents(item_id), "USD", year, created, category_ids, stock(item_id))
        )
        attributes: dict[str, AttributeValue] = {"genres": list(genres)}
        if year is not None:
            attributes["release_year"] = year
        attributes.update(kg.get(item_id, {}))
        description = f"{title} ({year})" if year is not None else title
        tags = tuple(genre.lower() for genre in genres)
        documents.append(ProductDocument(item_id, attributes, description, tags))

    rating_rows: list[Rating] = []
    first_rating: dict[int, datetime] = {}
    per_user: dict[int, list[int]] = defaultdict(list)
    liked: dict[int, Counter[str]] = defaultdict(Counter)
    for user_id, timestamp, item_id, rating in ratings:
        created = datetime.fromtimestamp(timestamp, UTC)
        first_rating.setdefault(user_id, created)
        rating_rows.append(Rating(user_id, item_id, rating, created))
        per_user[user_id].append(rating)
        if rating >= 4:
            liked[user_id].update(item_genres[item_id])

    users: list[User] = []
    profiles: list[UserProfileDocument] = []
    for user_id, row in sorted(raw_users.items()):
        age = row["age"].strip()
        gender, occupation, zip_code = (row[column].strip() or None for column in ("gender", "occupation", "zip_code"))
        users.append(
            User(
                user_id,
                f"user{user_id}@movielens.example",
                f"MovieLens user {user_id}",
                int(age) if age else None,
                gender,
                occupation,
                zip_code,
                first_rating.get(user_id, NO_RATING_DATE),
            )
        )
        top = sorted(liked[user_id].items(), key=lambda pair: (-pair[1], pair[0]))[:3]
        values = per_user.get(user_id, [])
        stats: dict[str, float | int] = {"ratings": len(values)}
        if values:
            stats["rating_avg"] = round(sum(values) / len(values), 3)
        profiles.append(UserProfileDocument(user_id, {"genres": [genre for genre, _count in top]}, stats))

    prices = {product.id: product.price_cents for product in products}
    return Dataset(
        name="movielens-100k",
        users=users,
        categories=categories,
        products=products,
        orders=_orders(ratings, prices),
        ratings=rating_rows,
        registry=registry,
        product_documents=documents,
        profiles=profiles,
        problems=problems,
    )
