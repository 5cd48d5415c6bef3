"""Batched MySQL reads by shared key for the read path: each function is ONE statement on its own connection.

Results are aligned to the keys asked for: ``None`` (or an empty list) for a key that has no row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.engine import RowMapping

from gateway.domain.records import CategoryRecord, OrderItemRecord, OrderRecord, ProductRecord, UserRecord
from gateway.domain.selection import ProductSelection
from gateway.stores.guard import guarded
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _rows(
    source: MySQLSource, operation: str, keys: Sequence[Any], statement: Select[Any]
) -> Sequence[RowMapping]:
    async def run() -> Sequence[RowMapping]:
        async with source.engine.connect() as conn:
            rows: Sequence[RowMapping] = (await conn.execute(statement)).mappings().all()
            return rows

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)


def _user(row: RowMapping) -> UserRecord:
    return UserRecord(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        age=row["age"],
        gender=row["gender"],
        occupation=row["occupation"],
        zip_code=row["zip_code"],
        created_at=_utc(row["created_at"]),
    )


def product_record(row: RowMapping) -> ProductRecord:
    return ProductRecord(
        id=row["id"],
        sku=row["sku"],
        title=row["title"],
        price_cents=row["price_cents"],
        currency=row["currency"],
        release_year=row["release_year"],
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )


def _order(row: RowMapping) -> OrderRecord:
    return OrderRecord(
        id=row["id"],
        user_id=row["user_id"],
        status=row["status"],
        total_cents=row["total_cents"],
        created_at=_utc(row["created_at"]),
    )


async def users_by_id(source: MySQLSource, ids: Sequence[int]) -> list[UserRecord | None]:
    rows = await _rows(source, "users_by_id", ids, select(t.users).where(t.users.c.id.in_(ids)))
    found = {row["id"]: _user(row) for row in rows}
    return [found.get(key) for key in ids]


async def products_by_id(source: MySQLSource, ids: Sequence[int]) -> list[ProductRecord | None]:
    rows = await _rows(source, "products_by_id", ids, select(t.products).where(t.products.c.id.in_(ids)))
    found = {row["id"]: product_record(row) for row in rows}
    return [found.get(key) for key in ids]


async def categories_by_id(source: MySQLSource, ids: Sequence[int]) -> list[CategoryRecord | None]:
    rows = await _rows(source, "categories_by_id", ids, select(t.categories).where(t.categories.c.id.in_(ids)))
    found = {row["id"]: CategoryRecord(row["id"], row["name"], row["parent_id"]) for row in rows}
    return [found.get(key) for key in ids]


async def categories_by_product(source: MySQLSource, product_ids: Sequence[int]) -> list[list[CategoryRecord]]:
    statement = (
        select(t.product_categories.c.product_id, t.categories)
        .join(t.categories, t.categories.c.id == t.product_categories.c.category_id)
        .where(t.product_categories.c.product_id.in_(product_ids))
        .order_by(t.product_categories.c.product_id, t.categories.c.id)
    )
    found: dict[int, list[CategoryRecord]] = defaultdict(list)
    for row in await _rows(source, "categories_by_product", product_ids, statement):
        found[row["product_id"]].append(CategoryRecord(row["id"], row["name"], row["parent_id"]))
    return [found.get(key, []) for key in product_ids]


async def inventory_by_product(source: MySQLSource, product_ids: Sequence[int]) -> list[int | None]:
    statement = select(t.inventory.c.product_id, t.inventory.c.quantity).where(
        t.inventory.c.product_id.in_(product_ids)
    )
    found = {row["product_id"]: row["quantity"] for row in await _rows(source, "inventory", product_ids, statement)}
    return [found.get(key) for key in product_ids]


async def orders_by_id(source: MySQLSource, ids: Sequence[int]) -> list[OrderRecord | None]:
    rows = await _rows(source, "orders_by_id", ids, select(t.orders).where(t.orders.c.id.in_(ids)))
    found = {row["id"]: _order(row) for row in rows}
    return [found.get(key) for key in ids]


async def items_by_order(source: MySQLSource, order_ids: Sequence[int]) -> list[list[OrderItemRecord]]:
    statement = (
        select(t.order_items)
        .where(t.order_items.c.order_id.in_(order_ids))
        .order_by(t.order_items.c.order_id, t.order_items.c.product_id)
    )
    found: dict[int, list[OrderItemRecord]] = defaultdict(list)
    for row in await _rows(source, "items_by_order", order_ids, statement):
        item = OrderItemRecord(row["order_id"], row["product_id"], row["quantity"], row["unit_price_cents"])
        found[item.order_id].append(item)
    return [found.get(key, []) for key in order_ids]


async def order_pages_by_user(
    source: MySQLSource, user_ids: Sequence[int], *, limit: int, before: tuple[datetime, int] | None
) -> list[list[OrderRecord]]:
    """Each user's newest ``limit`` orders (created_at, id descending), strictly after the keyset ``before``.

    One statement for every user: ROW_NUMBER() per user over the (user_id, created_at, id) index.
    """
    o = t.orders
    conditions: list[Any] = [o.c.user_id.in_(user_ids)]
    if before is not None:
        at = before[0].astimezone(UTC).replace(tzinfo=None)
        conditions.append(or_(o.c.created_at < at, and_(o.c.created_at == at, o.c.id < before[1])))
    rank = func.row_number().over(partition_by=o.c.user_id, order_by=(o.c.created_at.desc(), o.c.id.desc()))
    ranked = select(o, rank.label("rn")).where(*conditions).subquery()
    statement = select(ranked).where(ranked.c.rn <= limit).order_by(ranked.c.user_id, ranked.c.rn)
    found: dict[int, list[OrderRecord]] = defaultdict(list)
    for row in await _rows(source, "order_pages_by_user", user_ids, statement):
        found[row["user_id"]].append(_order(row))
    return [found.get(key, []) for key in user_ids]


async def order_counts_by_user(source: MySQLSource, user_ids: Sequence[int]) -> list[int]:
    o = t.orders
    statement = select(o.c.user_id, func.count().label("n")).where(o.c.user_id.in_(user_ids)).group_by(o.c.user_id)
    found = {row["user_id"]: row["n"] for row in await _rows(source, "order_counts_by_user", user_ids, statement)}
    return [int(found.get(key, 0)) for key in user_ids]


def _where(selection: ProductSelection) -> list[Any]:
    p = t.products
    conditions: list[Any] = []
    if selection.ids is not None:
        conditions.append(p.c.id.in_(selection.ids))
    if selection.category_id is not None:
        tree = select(t.categories.c.id).where(t.categories.c.id == selection.category_id).cte(recursive=True)
        tree = tree.union_all(select(t.categories.c.id).where(t.categories.c.parent_id == tree.c.id))
        in_tree = select(t.product_categories.c.product_id).where(
            t.product_categories.c.category_id.in_(select(tree.c.id))
        )
        conditions.append(p.c.id.in_(in_tree))
    if selection.price_min_cents is not None:
        conditions.append(p.c.price_cents >= selection.price_min_cents)
    if selection.price_max_cents is not None:
        conditions.append(p.c.price_cents <= selection.price_max_cents)
    if selection.year_min is not None:
        conditions.append(p.c.release_year >= selection.year_min)
    if selection.year_max is not None:
        conditions.append(p.c.release_year <= selection.year_max)
    return conditions


_SORT_COLUMNS = {"id": t.products.c.id, "price": t.products.c.price_cents, "title": t.products.c.title}


async def product_page(
    source: MySQLSource, selection: ProductSelection, *, sort: str, descending: bool, offset: int, limit: int
) -> list[ProductRecord]:
    """One page of products matching ``selection``, sorted by a MySQL column (ties broken by id)."""
    column = _SORT_COLUMNS[sort]
    order = (column.desc(), t.products.c.id.desc()) if descending else (column.asc(), t.products.c.id.asc())
    statement = select(t.products).where(*_where(selection)).order_by(*order).offset(offset).limit(limit)
    return [product_record(row) for row in await _rows(source, "product_page", (), statement)]


async def product_count(source: MySQLSource, selection: ProductSelection) -> int:
    statement = select(func.count().label("n")).select_from(t.products).where(*_where(selection))
    rows = await _rows(source, "product_count", (), statement)
    return int(rows[0]["n"])


async def product_ids(source: MySQLSource, selection: ProductSelection) -> list[int]:
    """Every product id matching ``selection``, ascending (for sorts that another store orders)."""
    statement = select(t.products.c.id).where(*_where(selection)).order_by(t.products.c.id)
    return [row["id"] for row in await _rows(source, "product_ids", (), statement)]


async def metric_inputs(
    source: MySQLSource, product_ids: Sequence[int]
) -> dict[int, tuple[float | None, int, float | None, int]]:
    """Per product: rating average, count, population deviation, and units in orders not cancelled (two statements
    in one round trip each)."""
    r, i = t.ratings, t.order_items
    ratings = (
        select(
            r.c.product_id,
            func.avg(r.c.rating).label("average"),
            func.count().label("n"),
            func.stddev_pop(r.c.rating).label("deviation"),
        )
        .where(r.c.product_id.in_(product_ids))
        .group_by(r.c.product_id)
    )
    units = (
        select(i.c.product_id, func.sum(i.c.quantity).label("units"))
        .join(t.orders, t.orders.c.id == i.c.order_id)
        .where(i.c.product_id.in_(product_ids), t.orders.c.status != "cancelled")
        .group_by(i.c.product_id)
    )
    rated = {row["product_id"]: row for row in await _rows(source, "rating_stats", product_ids, ratings)}
    sold = {row["product_id"]: int(row["units"]) for row in await _rows(source, "units_sold", product_ids, units)}
    result = {}
    for key in product_ids:
        row = rated.get(key)
        average = round(float(row["average"]), 4) if row is not None else None
        deviation = round(float(row["deviation"]), 4) if row is not None else None
        result[key] = (average, int(row["n"]) if row is not None else 0, deviation, sold.get(key, 0))
    return result
