"""User and catalogue writes in MySQL, each one transaction with its outbox event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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


class _BeforeCommitFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def create_product(
    source: MySQLSource,
    timeout: float,
    *,
    values: dict[str, Any],
    category_ids: Sequence[int],
    stock: int,
    before_commit: Callable[[int], Awaitable[None]],
) -> int:
    """The product's row, categories and stock with a ``product.created`` event, in one transaction that commits
    only once ``before_commit(product_id)`` has returned (the caller writes what other stores hold of the product
    there): if it raises, nothing is committed and nobody ever saw the row."""

    async def work(conn: AsyncConnection) -> int:
        known = {r[0] for r in await conn.execute(select(t.categories.c.id).where(t.categories.c.id.in_(category_ids)))}
        unknown = sorted(set(category_ids) - known)
        if unknown:
            raise NotFound(f"unknown categories: {', '.join(map(str, unknown))}")
        taken = await conn.execute(select(t.products.c.id).where(t.products.c.sku == values["sku"]))
        if taken.first() is not None:
            raise Conflict(f"a product with sku {values['sku']} exists")
        at = now()
        product_id = int(
            (await conn.execute(insert(t.products).values(**values, created_at=at, updated_at=at))).lastrowid
        )
        await conn.execute(insert(t.inventory).values(product_id=product_id, quantity=stock))
        await conn.execute(
            insert(t.product_categories),
            [{"product_id": product_id, "category_id": c} for c in sorted(set(category_ids))],
        )
        payload = {"product_id": product_id, "title": values["title"], "category_ids": sorted(set(category_ids))}
        await conn.execute(insert(t.outbox).values(**outbox_row("product.created", "product", product_id, payload)))
        try:
            await before_commit(product_id)
        except Exception as exc:  # not MySQL's failure: kept away from its breaker, raised as it was below
            raise _BeforeCommitFailed(exc) from exc
        return product_id

    try:
        return await transaction(source, timeout, "create_product", (), work)
    except _BeforeCommitFailed as failed:
        raise failed.error from None
    except Exception as exc:
        if isinstance(_cause(exc), IntegrityError):  # the same sku, created concurrently
            raise Conflict(f"a product with sku {values['sku']} exists") from exc
        raise


def forgotten_email(user_id: int) -> str:
    """The address an anonymised user keeps: unique (the column is), and in a domain that cannot receive mail."""
    return f"forgotten-{user_id}@forgotten.invalid"


async def forget_user(source: MySQLSource, timeout: float, *, user_id: int) -> list[int] | None:
    """The right to be forgotten, in MySQL: one transaction that anonymises the user's row (email replaced, name
    cleared, demographics NULL, ``deleted_at`` set), deletes their ratings and cart snapshot, and writes a
    ``user.deleted`` event for the other stores. Orders stay, pointing at the anonymised row, with their totals.

    Returns the products the user had rated (their metrics change), or None when the user was already forgotten
    (nothing written: a repeated call is harmless)."""

    async def work(conn: AsyncConnection) -> list[int] | None:
        row = (
            await conn.execute(select(t.users.c.deleted_at).where(t.users.c.id == user_id).with_for_update())
        ).first()
        if row is None:
            raise NotFound(f"user {user_id} not found")
        if row[0] is not None:
            return None
        rated = [
            r[0]
            for r in await conn.execute(
                select(t.ratings.c.product_id).where(t.ratings.c.user_id == user_id).order_by(t.ratings.c.product_id)
            )
        ]
        await conn.execute(delete(t.ratings).where(t.ratings.c.user_id == user_id))
        await conn.execute(delete(t.cart_snapshots).where(t.cart_snapshots.c.user_id == user_id))
        await conn.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(
                email=forgotten_email(user_id),
                name="",
                age=None,
                gender=None,
                occupation=None,
                zip_code=None,
                deleted_at=now(),
            )
        )
        payload = {"user_id": user_id, "rated_product_ids": rated}
        await conn.execute(insert(t.outbox).values(**outbox_row("user.deleted", "user", user_id, payload)))
        return rated

    return await transaction(source, timeout, "forget_user", [user_id], work)
