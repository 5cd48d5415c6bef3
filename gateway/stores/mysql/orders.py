"""Order writes: one MySQL transaction each, with the outbox event written in the same transaction.

createOrder locks the inventory rows of its products in id order (``SELECT ... FOR UPDATE``), so concurrent
orders queue on the rows they share and never deadlock on each other; it refuses the whole order when any line
lacks stock. A deadlock or lock wait timeout (which unique-key inserts can still cause) rolls back and retries.

An order or a rating is written only while the user's row is locked in share mode and not forgotten
(gateway/stores/mysql/users.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import BadUserInput, Conflict, NotFound, OutOfStock
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import MySQLSource
from gateway.stores.mysql.outbox import outbox_row
from gateway.stores.mysql.transactions import now, transaction
from gateway.stores.mysql.users import lock_user


@dataclass(frozen=True, slots=True)
class Line:
    product_id: int
    quantity: int


async def _existing(conn: AsyncConnection, key: str) -> Any:
    return (
        await conn.execute(
            select(t.orders.c.id, t.orders.c.user_id, t.orders.c.request_hash).where(t.orders.c.idempotency_key == key)
        )
    ).first()


def _same_request(found: Any, user_id: int, request_hash: str) -> int:
    if found.user_id != user_id or found.request_hash != request_hash:
        raise Conflict("this idempotency key was used for another order request")
    return int(found.id)


async def create_order(
    source: MySQLSource, timeout: float, *, user_id: int, lines: Sequence[Line], idempotency_key: str, request_hash: str
) -> tuple[int, bool]:
    """The order's id, and whether this call created it (False: the same request was already served)."""
    lines = sorted(lines, key=lambda line: line.product_id)
    ids = [line.product_id for line in lines]

    async def work(conn: AsyncConnection) -> tuple[int, bool]:
        await lock_user(conn, user_id, shared=True)
        found = await _existing(conn, idempotency_key)
        if found is not None:
            return _same_request(found, user_id, request_hash), False
        stock = dict(
            (
                await conn.execute(
                    select(t.inventory.c.product_id, t.inventory.c.quantity)
                    .where(t.inventory.c.product_id.in_(ids))
                    .order_by(t.inventory.c.product_id)
                    .with_for_update()
                )
            ).all()
        )
        prices = dict(
            (
                await conn.execute(select(t.products.c.id, t.products.c.price_cents).where(t.products.c.id.in_(ids)))
            ).all()
        )
        missing = [pid for pid in ids if pid not in prices]
        if missing:
            raise NotFound(f"unknown products: {', '.join(map(str, missing))}")
        short = [line.product_id for line in lines if stock.get(line.product_id, 0) < line.quantity]
        if short:
            raise OutOfStock(short)
        total = sum(prices[line.product_id] * line.quantity for line in lines)
        created = await conn.execute(
            insert(t.orders).values(
                user_id=user_id,
                status="pending",
                total_cents=total,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
        )
        order_id = int(created.lastrowid)
        await conn.execute(
            insert(t.order_items),
            [
                {
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price_cents": prices[line.product_id],
                }
                for line in lines
            ],
        )
        for line in lines:
            await conn.execute(
                update(t.inventory)
                .where(t.inventory.c.product_id == line.product_id)
                .values(quantity=t.inventory.c.quantity - line.quantity, version=t.inventory.c.version + 1)
            )
        payload = {
            "order_id": order_id,
            "user_id": user_id,
            "lines": [[line.product_id, line.quantity] for line in lines],
            "at": now().isoformat(),
        }
        await conn.execute(insert(t.outbox).values(**outbox_row("order.created", "order", order_id, payload)))
        return order_id, True

    try:
        return await transaction(source, timeout, "create_order", ids, work)
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if not isinstance(cause, IntegrityError):
            raise

    # Another request with this key committed first (unique key): the same request gets its order.
    async def reread(conn: AsyncConnection) -> tuple[int, bool]:
        found = await _existing(conn, idempotency_key)
        if found is None:
            raise BadUserInput("the order could not be written")
        return _same_request(found, user_id, request_hash), False

    return await transaction(source, timeout, "create_order_reread", ids, reread)


TRANSITIONS = {
    "pending": {"paid", "cancelled"},
    "paid": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}


async def change_status(source: MySQLSource, timeout: float, *, order_id: int, status: str, owner: int | None) -> int:
    """Move an order to ``status`` (cancelling restores inventory); ``owner``: only that user's order. Returns the
    order's user id."""

    async def work(conn: AsyncConnection) -> int:
        row = (
            await conn.execute(
                select(t.orders.c.user_id, t.orders.c.status).where(t.orders.c.id == order_id).with_for_update()
            )
        ).first()
        if row is None or (owner is not None and row.user_id != owner):
            raise NotFound(f"order {order_id} not found")
        if status not in TRANSITIONS[row.status]:
            raise Conflict(f"an order that is {row.status} cannot become {status}")
        await conn.execute(update(t.orders).where(t.orders.c.id == order_id).values(status=status, updated_at=now()))
        items = (
            await conn.execute(
                select(t.order_items.c.product_id, t.order_items.c.quantity)
                .where(t.order_items.c.order_id == order_id)
                .order_by(t.order_items.c.product_id)
            )
        ).all()
        if status == "cancelled":
            for product_id, quantity in items:
                await conn.execute(
                    update(t.inventory)
                    .where(t.inventory.c.product_id == product_id)
                    .values(quantity=t.inventory.c.quantity + quantity, version=t.inventory.c.version + 1)
                )
        payload = {
            "order_id": order_id,
            "user_id": row.user_id,
            "from": row.status,
            "to": status,
            "product_ids": [p for p, _ in items],
            "at": now().isoformat(),
        }
        event = "order.cancelled" if status == "cancelled" else "order.status_changed"
        await conn.execute(insert(t.outbox).values(**outbox_row(event, "order", order_id, payload)))
        return int(row.user_id)

    return await transaction(source, timeout, "change_order_status", [order_id], work)


async def upsert_rating(source: MySQLSource, timeout: float, *, user_id: int, product_id: int, rating: int) -> None:
    async def work(conn: AsyncConnection) -> None:
        await lock_user(conn, user_id, shared=True)
        if (await conn.execute(select(t.products.c.id).where(t.products.c.id == product_id))).first() is None:
            raise NotFound(f"product {product_id} not found")
        at = now()
        found = (
            await conn.execute(
                select(t.ratings.c.rating)
                .where(t.ratings.c.user_id == user_id, t.ratings.c.product_id == product_id)
                .with_for_update()
            )
        ).first()
        if found is None:
            await conn.execute(
                insert(t.ratings).values(user_id=user_id, product_id=product_id, rating=rating, created_at=at)
            )
        else:
            await conn.execute(
                update(t.ratings)
                .where(t.ratings.c.user_id == user_id, t.ratings.c.product_id == product_id)
                .values(rating=rating, created_at=at)
            )
        payload = {"user_id": user_id, "product_id": product_id, "rating": rating, "at": at.isoformat()}
        await conn.execute(insert(t.outbox).values(**outbox_row("rating.upserted", "product", product_id, payload)))

    await transaction(source, timeout, "upsert_rating", [product_id], work)
