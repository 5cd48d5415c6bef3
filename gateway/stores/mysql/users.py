"""The user's row as the writes of that user's own data take it: locked, and refused once forgotten.

Every write of a user's own data (orders, ratings, cart changes) first locks the user's ``users`` row in the same
transaction; deleteUser (gateway/stores/mysql/catalog.py) takes it exclusively. A write that comes after a
deleteUser, with a token minted before it, is refused (UNAUTHENTICATED) instead of bringing the user back into the
stores; one that came first committed before deleteUser could take the row, which then treats it as any earlier
write (an order kept with the anonymised row, a rating and the cart deleted).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import NotFound, Unauthenticated
from gateway.stores.mysql import tables as t


async def lock_user(conn: AsyncConnection, user_id: int, *, shared: bool) -> None:
    """Lock the user's row until the transaction ends (``shared``: in share mode, else for update)."""
    query = select(t.users.c.deleted_at).where(t.users.c.id == user_id).with_for_update(read=shared)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"user {user_id} not found")
    if row.deleted_at is not None:
        raise Unauthenticated("this account was deleted")
