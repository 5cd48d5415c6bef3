"""What the read functions of the store modules return: plain frozen records, keyed by shared keys.

Store modules build these from driver rows; DataLoaders hand them to resolvers; schema types wrap them. No
driver type ever leaves ``gateway/stores``. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    name: str
    age: int | None
    gender: str | None
    occupation: str | None
    zip_code: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: int
    sku: str
    title: str
    price_cents: int
    currency: str
    release_year: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: int
    user_id: int
    status: str
    total_cents: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrderItemRecord:
    order_id: int
    product_id: int
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class ProductDocumentRecord:
    """MongoDB ``product_attributes``: the per-category attributes and the long text of one product."""

    id: int
    attributes: dict[str, Any]
    description: str | None
    tags: tuple[str, ...]
    images: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MetricsRecord:
    """MongoDB ``product_metrics``: computed from ratings and orders, eventually consistent."""

    id: int
    rating_avg: float | None
    rating_count: int
    rating_std: float | None
    popularity: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """MongoDB ``user_profiles``."""

    id: int
    preferences: dict[str, list[str]]
    stats: dict[str, int | float]


@dataclass(frozen=True, slots=True)
class Scored:
    """One result of a graph query: a product or user id, its score, and why it was chosen."""

    id: int
    score: float
    reason: str
