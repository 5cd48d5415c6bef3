"""Batched MySQL reads by shared key for the read path: each function is ONE statement on its own connection.

Each statement goes where ``MySQLSource.reader()`` says: a replica inside a Query operation (client.py's
``replica_reads``), the primary otherwise.

The lookups by key run this module's own SQL text (ids rendered as integers only); the product search builds its
statements with SQLAlchemy Core.

Results are aligned to the keys asked for: ``None`` (or an empty list) for a key that has no row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.mysql import match
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError

from gateway.domain.records import CategoryRecord, OrderItemRecord, OrderRecord, ProductRecord, UserRecord, utc
from gateway.domain.selection import ProductSelection
from gateway.stores.guard import guarded
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource


async def _rows(
    source: MySQLSource, operation: str, keys: Sequence[Any], statement: Select[Any]
) -> Sequence[RowMapping]:
    reader = source.reader()

    async def run() -> Sequence[RowMapping]:
        async with reader.engine.connect() as conn:
            rows: Sequence[RowMapping] = (await conn.execute(statement)).mappings().all()
            return rows

    return await guarded(reader, source.timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)


async def _tuples(source: MySQLSource, operation: str, keys: Sequence[Any], sql: str) -> Sequence[tuple[Any, ...]]:
    """The rows of one statement of this module's own SQL text, as tuples: the read path's lookups by key skip
    SQLAlchemy's statement building and row mapping (they cost several times the round trip for a page of 400)."""

    reader = source.reader()

    async def run() -> Sequence[tuple[Any, ...]]:
        for attempt in (1, 2):
            try:
                async with reader.engine.connect() as conn:
                    result = await conn.exec_driver_sql(sql)
                    rows: Sequence[tuple[Any, ...]] = result.fetchall()
                    return rows
            except DBAPIError as exc:  # a pooled connection that died (server restarted): a read is safe to redo
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    return await guarded(reader, source.timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)


def _ids(keys: Sequence[int]) -> str:
    """The keys of an ``IN (...)`` list: integers, rendered by ``int`` (anything else raises before any SQL); no
    key is ``NULL``, which matches nothing."""
    return ", ".join([str(int(key)) for key in keys]) or "NULL"


_USER = "SELECT id, email, name, age, gender, occupation, zip_code, created_at FROM users"
_PRODUCT = "SELECT id, sku, title, price_cents, currency, release_year, created_at, updated_at FROM products"
_ORDER = "SELECT id, user_id, status, total_cents, created_at FROM orders"
_CATEGORY = "SELECT id, name, parent_id FROM categories"


def _user(row: tuple[Any, ...]) -> UserRecord:
    id, email, name, age, gender, occupation, zip_code, created_at = row
    return UserRecord(id, email, name, age, gender, occupation, zip_code, utc(created_at))


def _product(row: tuple[Any, ...]) -> ProductRecord:
    id, sku, title, price_cents, currency, release_year, created_at, updated_at = row
    return ProductRecord(id, sku, title, price_cents, currency, release_year, utc(created_at), utc(updated_at))


def _order(row: tuple[Any, ...]) -> OrderRecord:
    id, user_id, status, total_cents, created_at = row
    return OrderRecord(id, user_id, status, total_cents, utc(created_at))


def product_record(row: RowMapping) -> ProductRecord:
    """A product from a row of ``select(products)`` (the search's statements)."""
    return _product(tuple(row[c.name] for c in t.products.c))


async def users_by_id(source: MySQLSource, ids: Sequence[int]) -> list[UserRecord | None]:
    rows = await _tuples(source, "users_by_id", ids, f"{_USER} WHERE id IN ({_ids(ids)}) AND deleted_at IS NULL")
    found = {row[0]: _user(row) for row in rows}
    return [found.get(key) for key in ids]


async def products_by_id(source: MySQLSource, ids: Sequence[int]) -> list[ProductRecord | None]:
    rows = await _tuples(source, "products_by_id", ids, f"{_PRODUCT} WHERE id IN ({_ids(ids)})")
    found = {row[0]: _product(row) for row in rows}
    return [found.get(key) for key in ids]


async def categories_by_id(source: MySQLSource, ids: Sequence[int]) -> list[CategoryRecord | None]:
    rows = await _tuples(source, "categories_by_id", ids, f"{_CATEGORY} WHERE id IN ({_ids(ids)})")
    found = {row[0]: CategoryRecord(*row) for row in rows}
    return [found.get(key) for key in ids]


async def all_categories(source: MySQLSource) -> list[CategoryRecord]:
    """The whole category tree (a few dozen rows): preferences are checked and matched against it."""
    rows = await _tuples(source, "all_categories", (), f"{_CATEGORY} ORDER BY id")
    return [CategoryRecord(*row) for row in rows]


async def categories_by_product(source: MySQLSource, product_ids: Sequence[int]) -> list[list[CategoryRecord]]:
    sql = (
        "SELECT pc.product_id, c.id, c.name, c.parent_id FROM product_categories pc "
        f"JOIN categories c ON c.id = pc.category_id WHERE pc.product_id IN ({_ids(product_ids)}) "
        "ORDER BY pc.product_id, c.id"
    )
    found: dict[int, list[CategoryRecord]] = defaultdict(list)
    for product_id, *category in await _tuples(source, "categories_by_product", product_ids, sql):
        found[product_id].append(CategoryRecord(*category))
    return [found.get(key, []) for key in product_ids]


async def inventory_by_product(source: MySQLSource, product_ids: Sequence[int]) -> list[int | None]:
    sql = f"SELECT product_id, quantity FROM inventory WHERE product_id IN ({_ids(product_ids)})"
    found = dict(await _tuples(source, "inventory", product_ids, sql))
    return [found.get(key) for key in product_ids]


async def orders_by_id(source: MySQLSource, ids: Sequence[int]) -> list[OrderRecord | None]:
    rows = await _tuples(source, "orders_by_id", ids, f"{_ORDER} WHERE id IN ({_ids(ids)})")
    found = {row[0]: _order(row) for row in rows}
    return [found.get(key) for key in ids]


async def items_by_order(source: MySQLSource, order_ids: Sequence[int]) -> list[list[OrderItemRecord]]:
    sql = (
        "SELECT order_id, product_id, quantity, unit_price_cents FROM order_items "
        f"WHERE order_id IN ({_ids(order_ids)}) ORDER BY order_id, product_id"
    )
    found: dict[int, list[OrderItemRecord]] = defaultdict(list)
    for row in await _tuples(source, "items_by_order", order_ids, sql):
        found[row[0]].append(OrderItemRecord(*row))
    return [found.get(key, []) for key in order_ids]


async def order_pages_by_user(
    source: MySQLSource, user_ids: Sequence[int], *, limit: int, before: tuple[datetime, int] | None
) -> list[list[OrderRecord]]:
    """Each user's newest ``limit`` orders (created_at, id descending), strictly after the keyset ``before``.

    One statement for every user: ROW_NUMBER() per user over the (user_id, created_at, id) index.
    """
    after = ""
    if before is not None:
        at = before[0].astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        after = f" AND (created_at < '{at}' OR (created_at = '{at}' AND id < {int(before[1])}))"
    sql = (
        "SELECT id, user_id, status, total_cents, created_at FROM (SELECT id, user_id, status, total_cents, "
        "created_at, row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS rn "
        f"FROM orders WHERE user_id IN ({_ids(user_ids)}){after}) AS ranked "
        f"WHERE rn <= {int(limit)} ORDER BY user_id, rn"
    )
    found: dict[int, list[OrderRecord]] = defaultdict(list)
    for row in await _tuples(source, "order_pages_by_user", user_ids, sql):
        found[row[1]].append(_order(row))
    return [found.get(key, []) for key in user_ids]


async def order_counts_by_user(source: MySQLSource, user_ids: Sequence[int]) -> list[int]:
    sql = f"SELECT user_id, count(*) FROM orders WHERE user_id IN ({_ids(user_ids)}) GROUP BY user_id"
    found = dict(await _tuples(source, "order_counts_by_user", user_ids, sql))
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
    if selection.text is not None:
        conditions.append(_relevance(selection.text) > 0)
    return conditions


def _relevance(text: str) -> Any:
    """The FULLTEXT relevance of the title to ``text`` (bound as a parameter; natural language mode has no
    operators, so client text is only ever words)."""
    return match(t.products.c.title, against=text).in_natural_language_mode()


_SORT_COLUMNS = {"id": t.products.c.id, "price": t.products.c.price_cents, "title": t.products.c.title}


async def product_page(
    source: MySQLSource, selection: ProductSelection, *, sort: str, descending: bool, offset: int, limit: int
) -> list[ProductRecord]:
    """One page of products matching ``selection``, sorted by a MySQL column or by relevance to the selection's
    text, best first (ties broken by id)."""
    if sort == "relevance":
        if selection.text is None:
            raise ValueError("a relevance sort needs a text")
        score = _relevance(selection.text)
        order = (score.asc(), t.products.c.id.desc()) if descending else (score.desc(), t.products.c.id.asc())
    else:
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


async def user_rating_inputs(source: MySQLSource, user_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per user: how many ratings they have and the sum of their stars (a profile's statistics), one statement."""
    r = t.ratings
    statement = (
        select(r.c.user_id, func.count().label("n"), func.sum(r.c.rating).label("stars"))
        .where(r.c.user_id.in_(user_ids))
        .group_by(r.c.user_id)
    )
    found = {
        row["user_id"]: (int(row["n"]), int(row["stars"]))
        for row in await _rows(source, "user_rating_stats", user_ids, statement)
    }
    return {key: found.get(key, (0, 0)) for key in user_ids}
