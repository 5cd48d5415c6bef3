"""The MySQL schema (system of record), as SQLAlchemy Core tables. Alembic migrations create exactly this.

Portable between MySQL 8.4 and MariaDB 10.11: no private syntax, CHECK constraints (both enforce them),
DATETIME(6) in UTC, JSON columns (a checked LONGTEXT on MariaDB).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.mysql import DATETIME

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

# Microsecond precision in MySQL; plain DateTime elsewhere. Stored as naive UTC.
Timestamp = DateTime().with_variant(DATETIME(fsp=6), "mysql", "mariadb")
NOW = text("CURRENT_TIMESTAMP(6)")

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("email", String(255), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("age", SmallInteger),
    Column("gender", String(16)),
    Column("occupation", String(64)),
    Column("zip_code", String(16)),
    Column("created_at", Timestamp, nullable=False, server_default=NOW),
    Column("deleted_at", Timestamp),  # deleteUser: the row is anonymised (orders keep it), reads leave it out
)

categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("parent_id", Integer, ForeignKey("categories.id", ondelete="RESTRICT")),
    UniqueConstraint("parent_id", "name"),
)

products = Table(
    "products",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("title", String(512), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("release_year", SmallInteger),
    Column("created_at", Timestamp, nullable=False, server_default=NOW),
    Column("updated_at", Timestamp, nullable=False, server_default=NOW),
    CheckConstraint("price_cents >= 0", name="price_not_negative"),
    Index(None, "price_cents"),
    Index(None, "release_year"),
    Index(None, "title"),
    Index("ft_products_title", "title", mysql_prefix="FULLTEXT"),  # text search (products(filter: {text}))
)

product_categories = Table(
    "product_categories",
    metadata,
    Column("product_id", BigInteger, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", Integer, ForeignKey("categories.id", ondelete="RESTRICT"), primary_key=True),
    Index(None, "category_id", "product_id"),
)

inventory = Table(
    "inventory",
    metadata,
    Column("product_id", BigInteger, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("quantity", Integer, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="0"),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("total_cents", BigInteger, nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("request_hash", String(64)),  # sha256 of the createOrder input: same key, other input → CONFLICT
    Column("created_at", Timestamp, nullable=False, server_default=NOW),
    Column("updated_at", Timestamp, nullable=False, server_default=NOW),
    CheckConstraint("status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')", name="status_known"),
    CheckConstraint("total_cents >= 0", name="total_not_negative"),
    Index(None, "user_id", "created_at", "id"),  # a user's orders, newest first, keyset-paged
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", BigInteger, ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("unit_price_cents >= 0", name="unit_price_not_negative"),
    Index(None, "product_id"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", BigInteger, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("rating", SmallInteger, nullable=False),
    Column("created_at", Timestamp, nullable=False, server_default=NOW),
    CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    Index(None, "product_id", "created_at"),  # ratings by product
)

cart_snapshots = Table(
    "cart_snapshots",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("items", JSON, nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("updated_at", Timestamp, nullable=False, server_default=NOW),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_type", String(64), nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", Timestamp, nullable=False, server_default=NOW),
    Column("available_at", Timestamp, nullable=False, server_default=NOW),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("claimed_until", Timestamp),
    Column("processed_at", Timestamp),
    Column("claimed_by", String(64)),  # the relay holding the lease
    Column("parked_at", Timestamp),  # failed for its own reason (bad payload) too often: left for a human
    Index(None, "processed_at", "available_at", "id"),  # the relay's claim: unprocessed, available, in order
    Index(None, "aggregate_type", "aggregate_id", "id"),  # events of one aggregate, in order
)
