"""What the read functions of the store modules return: plain records, keyed by shared keys.

Store modules build these from driver rows; loaders hand them to resolvers and plans; schema types wrap them. No
driver type ever leaves ``gateway/stores``. Timestamps are timezone-aware UTC.

Records are never changed once built, but they are not frozen dataclasses: a frozen dataclass sets each field
through ``object.__setattr__``, four times the cost of a plain one (measured: 0.67 ms against 0.15 ms for the 420
products of one page), and a page builds a record per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """A store's timestamp as an aware UTC datetime (naive ones hold UTC). By arithmetic rather than
    ``replace(tzinfo=UTC)``, which costs eight times as much (1.7 µs against 0.2 µs, measured): a page of 420
    products holds 840 timestamps."""
    return _EPOCH + (moment - _NAIVE_EPOCH) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(slots=True)
class UserRecord:
    id: int
    email: str
    name: str
    age: int | None
    gender: str | None
    occupation: str | None
    zip_code: str | None
    created_at: datetime


@dataclass(slots=True)
class CategoryRecord:
    id: int
    name: str
    parent_id: int | None


@dataclass(slots=True)
class ProductRecord:
    id: int
    sku: str
    title: str
    price_cents: int
    currency: str
    release_year: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class OrderRecord:
    id: int
    user_id: int
    status: str
    total_cents: int
    created_at: datetime


@dataclass(slots=True)
class OrderItemRecord:
    order_id: int
    product_id: int
    quantity: int
    unit_price_cents: int


@dataclass(slots=True)
class ProductDocumentRecord:
    """MongoDB ``product_attributes``: the per-category attributes and the long text of one product."""

    id: int
    attributes: dict[str, Any]
    description: str | None
    tags: tuple[str, ...]
    images: tuple[str, ...]


@dataclass(slots=True)
class MetricsRecord:
    """MongoDB ``product_metrics``: computed from ratings and orders, eventually consistent."""

    id: int
    rating_avg: float | None
    rating_count: int
    rating_std: float | None
    popularity: int
    updated_at: datetime


@dataclass(slots=True)
class ProfileRecord:
    """MongoDB ``user_profiles``."""

    id: int
    preferences: dict[str, list[str]]
    stats: dict[str, int | float]


@dataclass(slots=True)
class Scored:
    """One result of a graph query: a product or user id, its score, and why it was chosen."""

    id: int
    score: float
    reason: str
