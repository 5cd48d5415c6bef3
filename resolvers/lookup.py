"""Root lookups by id: a missing row is null for that field with a NOT_FOUND error, never a 500."""

from __future__ import annotations

from typing import TypeVar

from gateway.domain.records import OrderRecord, ProductRecord, UserRecord
from gateway.errors import NotFound
from resolvers.arguments import parse_id
from resolvers.info import Resolving
from resolvers.permissions import owner_or_admin, signed_in

R = TypeVar("R")


def _found(record: R | None, what: str, key: int) -> R:
    if record is None:
        raise NotFound(f"{what} {key} not found")
    return record


async def user(info: Resolving, id: str) -> UserRecord:
    key = parse_id(id)
    return _found(await info.context.loaders.users.load(key), "user", key)


async def product(info: Resolving, id: str) -> ProductRecord:
    key = parse_id(id)
    return _found(await info.context.loaders.products.load(key), "product", key)


async def order(info: Resolving, id: str) -> OrderRecord:
    key = parse_id(id)
    return _found(await info.context.loaders.orders.load(key), "order", key)


async def owned_order(info: Resolving, id: str) -> OrderRecord:
    """An order for its owner or an admin. A guest learns nothing, not even whether the order exists."""
    signed_in(info)
    record = await order(info, id)
    owner_or_admin(info, record.user_id, "an order")
    return record


async def viewer(info: Resolving) -> UserRecord | None:
    """The signed-in user's record; None for a guest."""
    info.context.private = True  # the viewer's own record
    if info.context.viewer is None:
        return None
    return await info.context.loaders.users.load(info.context.viewer.user_id)
