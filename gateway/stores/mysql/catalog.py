"""User and catalogue writes in MySQL, each one transaction with its outbox event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict, NotFound
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import MySQLSource
from gateway.stores.mysql.outbox import outbox_row
from gateway.stores.mysql.transactions import now, transaction


def _cause(exc: BaseException) -> BaseException:
    return exc.__cause__ if exc.__cause__ is not None else exc


async def register_user(
    source: MySQLSource, timeout: float, *, fields: dict[str, Any], preferences: dict[str, list[str]]
) -> int:
    async def work(conn: AsyncConnection) -> int:
        taken = await conn.execute(select(t.users.c.id).where(t.users.c.email == fields["email"]))
        if taken.first() is not None:
            raise Conflict("a user with this email exists")
        user_id = int((await conn.execute(insert(t.users).values(**fields, created_at=now()))).lastrowid)
        payload = {"user_id": user_id, "preferences": preferences}
        await conn.execute(insert(t.outbox).values(**outbox_row("user.registered", "user", user_id, payload)))
        return user_id

    try:
        return await transaction(source, timeout, "register_user", (), work)
    except Exception as exc:
        if isinstance(_cause(exc), IntegrityError):  # the same email, registered concurrently
            raise Conflict("a user with this email exists") from exc
        raise


async def category_ids_of(conn: AsyncConnection, product_id: int) -> list[int]:
    rows = await conn.execute(
        select(t.product_categories.c.category_id)
        .where(t.product_categories.c.product_id == product_id)
        .order_by(t.product_categories.c.category_id)
    )
    return [row[0] for row in rows]


async def update_product(
    source: MySQLSource, timeout: float, *, product_id: int, values: dict[str, Any], category_ids: Sequence[int] | None
) -> None:
    async def work(conn: AsyncConnection) -> None:
        row = (
            await conn.execute(select(t.products.c.title).where(t.products.c.id == product_id).with_for_update())
        ).first()
        if row is None:
            raise NotFound(f"product {product_id} not found")
        await conn.execute(update(t.products).where(t.products.c.id == product_id).values(**values, updated_at=now()))
        if category_ids is not None:
            known = {
                r[0] for r in await conn.execute(select(t.categories.c.id).where(t.categories.c.id.in_(category_ids)))
            }
            unknown = sorted(set(category_ids) - known)
            if unknown:
                raise NotFound(f"unknown categories: {', '.join(map(str, unknown))}")
            await conn.execute(delete(t.product_categories).where(t.product_categories.c.product_id == product_id))
            await conn.execute(
                insert(t.product_categories),
                [{"product_id": product_id, "category_id": c} for c in sorted(set(category_ids))],
            )
        payload = {
            "product_id": product_id,
            "title": values.get("title", row.title),
            "category_ids": await category_ids_of(conn, product_id),
        }
        await conn.execute(insert(t.outbox).values(**outbox_row("product.updated", "product", product_id, payload)))

    await transaction(source, timeout, "update_product", [product_id], work)


async def delete_product(source: MySQLSource, timeout: float, *, product_id: int) -> None:
    async def work(conn: AsyncConnection) -> None:
        found = (
            await conn.execute(select(t.products.c.id).where(t.products.c.id == product_id).with_for_update())
        ).first()
        if found is None:
            raise NotFound(f"product {product_id} not found")
        ordered = (
            await conn.execute(
                select(t.order_items.c.order_id).where(t.order_items.c.product_id == product_id).limit(1)
            )
        ).first()
        if ordered is not None:
            raise Conflict("the product is in orders: it cannot be deleted (orders keep their lines)")
        await conn.execute(
            delete(t.products).where(t.products.c.id == product_id)
        )  # categories, stock, ratings cascade
        payload = {"product_id": product_id}
        await conn.execute(insert(t.outbox).values(**outbox_row("product.deleted", "product", product_id, payload)))

    await transaction(source, timeout, "delete_product", [product_id], work)
