"""The rows a dataset produces, store-neutral: the seeder writes them to MySQL, MongoDB and Neo4j.

A dataset (MovieLens-100K, synthetic) is parsed into these plain records first; nothing here talks to a store.
Ids are the shared keys across stores (user_id, product_id, order_id, category_id), deterministic for a given
input so that seeding twice writes the same keys (and the second run writes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gateway.domain.attributes import AttributeType, AttributeValue


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    age: int | None
    gender: str | None
    occupation: str | None
    zip_code: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str
    parent_id: int | None  # None for a root category


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    sku: str
    title: str
    price_cents: int
    currency: str
    release_year: int | None
    created_at: datetime
    category_ids: tuple[int, ...]  # product_categories rows
    stock: int  # the inventory row's quantity


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_id: int
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    user_id: int
    status: Literal["pending", "paid", "shipped", "delivered", "cancelled"]
    idempotency_key: str
    created_at: datetime
    items: tuple[OrderItem, ...]

    @property
    def total_cents(self) -> int:
        return sum(item.quantity * item.unit_price_cents for item in self.items)


@dataclass(frozen=True, slots=True)
class Rating:
    user_id: int
    product_id: int
    rating: int  # 1..5
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One entry of the attribute registry: a product in ``category_id`` may carry ``name`` of ``type``."""

    category_id: int
    name: str
    type: AttributeType
    description: str = ""


@dataclass(frozen=True, slots=True)
class ProductDocument:
    """MongoDB product_attributes document (``_id`` = product_id)."""

    product_id: int
    attributes: dict[str, AttributeValue]
    description: str | None = None
    tags: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UserProfileDocument:
    """MongoDB user_profiles document (``_id`` = user_id)."""

    user_id: int
    preferences: dict[str, list[str]]  # e.g. {"genres": ["Drama", "Comedy"]}
    stats: dict[str, float | int]  # e.g. {"ratings": 42, "rating_avg": 3.6}


@dataclass(frozen=True, slots=True)
class Problem:
    """A bad input row: reported with where it came from, never silently written or dropped."""

    source: str  # file name, or "generator"
    line: int
    reason: str


@dataclass(slots=True)
class Dataset:
    name: str
    users: list[User] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    registry: list[AttributeSpec] = field(default_factory=list)
    product_documents: list[ProductDocument] = field(default_factory=list)
    profiles: list[UserProfileDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
