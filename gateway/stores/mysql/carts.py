"""A signed-in user's cart snapshot in MySQL (``cart_snapshots``), so the cart survives a Redis loss.

Every change of a user's cart runs inside one MySQL transaction that first locks the user's ``users`` row
(``FOR UPDATE``; refused once the user is forgotten: gateway/stores/mysql/users.py): the Redis change is made while
the lock is held, and the snapshot is written from the cart Redis answers with. Changes of one user's cart are
thereby serialized, so the snapshot is always written in the order the changes happened (the last one wins, and it
is the newest). Restoring a cart from its snapshot takes the same row in share mode, so a restore never writes back
a snapshot that a change is about to replace. The lock is on the ``users`` row rather than on the snapshot row
because the snapshot row may not exist yet: locking a missing row takes a gap lock, and two such gap locks deadlock
on insert.

Items are stored as ``[[product_id, quantity], ...]`` sorted by product id; an empty cart has no row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.stores.guard import guarded
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource
from gateway.stores.mysql.retry import lock_conflict, retried
from gateway.stores.mysql.transactions import now
from gateway.stores.mysql.users import lock_user

T = TypeVar("T")
Items = dict[int, int]


@dataclass(frozen=True, slots=True)
class Snapshot:
    items: Items
    version: int
    ttl_s: int  # seconds the cart has left to live (it expires cart_ttl_s after its last change)


async def _snapshot(conn: AsyncConnection, user_id: int, max_age_s: int) -> Snapshot | None:
    snapshots = t.cart_snapshots
    row = (
        await conn.execute(
            # ``c["items"]``: ``c.items`` is the column collection's own items() method
            select(snapshots.c["items"], snapshots.c.version, snapshots.c.updated_at).where(
                snapshots.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    lines, version, updated_at = row
    ttl_s = max_age_s - int((now() - updated_at).total_seconds())
    items = {int(product_id): int(quantity) for product_id, quantity in lines}
    return Snapshot(items if ttl_s > 0 else {}, int(version), ttl_s)


async def _locked(
    source: MySQLSource,
    timeout: float,
    operation: str,
    user_id: int,
    *,
    shared: bool,
    work: Callable[[AsyncConnection], Awaitable[T]],
) -> T:
    """Run ``work`` in a transaction holding the user's row lock. Only taking the lock is retried: once it is
    held, ``work`` has called Redis, and that must not happen twice."""
    held = False  # the lock is held: work() may have called Redis, so nothing is run again from then on

    async def run() -> T:
        nonlocal held
        async with source.engine.begin() as conn:
            await lock_user(conn, user_id, shared=shared)
            held = True
            return await work(conn)

    def lock_not_taken(exc: BaseException) -> bool:
        return not held and lock_conflict(exc)

    return await guarded(
        source, timeout, retried(run, retry_if=lock_not_taken), DRIVER_ERRORS, operation=operation, keys=[user_id]
    )


async def snapshot(source: MySQLSource, timeout: float, *, user_id: int, max_age_s: int) -> Snapshot | None:
    """The snapshot as last committed (no lock): what a reader falls back on when Redis is down."""

    async def read() -> Snapshot | None:
        async with source.engine.connect() as conn:
            return await _snapshot(conn, user_id, max_age_s)

    return await guarded(source, timeout, read(), DRIVER_ERRORS, operation="cart_snapshot", keys=[user_id])


async def restore(
    source: MySQLSource,
    timeout: float,
    *,
    user_id: int,
    max_age_s: int,
    write_back: Callable[[Snapshot | None], Awaitable[T]],
) -> T:
    """Hand the snapshot (None: none, or expired) to ``write_back`` while no change of this cart can commit."""

    async def work(conn: AsyncConnection) -> T:
        return await write_back(await _snapshot(conn, user_id, max_age_s))

    return await _locked(source, timeout, "cart_snapshot_restore", user_id, shared=True, work=work)


async def change(
    source: MySQLSource,
    timeout: float,
    *,
    user_id: int,
    max_age_s: int,
    apply: Callable[[Snapshot | None], Awaitable[tuple[T, Items | None]]],
) -> T:
    """Change the cart with ``apply`` (given the snapshot, it answers its result and the cart afterwards, or None
    when nothing changed) and write that cart as the new snapshot (version + 1), all under the user's lock. An
    exception from ``apply`` rolls back and writes nothing."""

    async def work(conn: AsyncConnection) -> T:
        current = await _snapshot(conn, user_id, max_age_s)
        result, items = await apply(current)
        if items is None:
            return result
        where = t.cart_snapshots.c.user_id == user_id
        rows = [[product_id, quantity] for product_id, quantity in sorted(items.items())]
        if not rows:
            await conn.execute(delete(t.cart_snapshots).where(where))
        elif current is None:
            await conn.execute(
                insert(t.cart_snapshots).values(user_id=user_id, items=rows, version=1, updated_at=now())
            )
        else:
            await conn.execute(
                update(t.cart_snapshots)
                .where(where)
                .values(items=rows, version=t.cart_snapshots.c.version + 1, updated_at=now())
            )
        return result

    return await _locked(source, timeout, "cart_snapshot_change", user_id, shared=False, work=work)


async def order_for_key(source: MySQLSource, timeout: float, *, user_id: int, idempotency_key: str) -> int | None:
    """The id of this user's order placed with ``idempotency_key``, if there is one."""

    async def read() -> int | None:
        async with source.engine.connect() as conn:
            found = (
                await conn.execute(
                    select(t.orders.c.id).where(
                        t.orders.c.idempotency_key == idempotency_key, t.orders.c.user_id == user_id
                    )
                )
            ).scalar()
        return None if found is None else int(found)

    return await guarded(source, timeout, read(), DRIVER_ERRORS, operation="order_for_key", keys=[user_id])
