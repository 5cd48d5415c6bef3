"""Root lookups by id: a missing row is null for that field with a NOT_FOUND error, never a 500."""

from __future__ import annotations

from typing import TypeVar

from gateway.domain.records import OrderRecord, ProductRecord, UserRecord
from gateway.errors import NotFound
from resolvers.arguments import parse_id
from resolvers.info import Info

R = TypeVar("R")


def _found(record: R | None, what: str, key: int) -> R:
    if record is None:
        raise NotFound(f"{what} {key} not found")
    return record


async def user(info: Info, id: str) -> UserRecord:
    key = parse_id(id)
    return _found(await info.context.loaders.users.load(key), "user", key)


async def product(info: Info, id: str) -> ProductRecord:
    key = parse_id(id)
    return _found(await info.context.loaders.products.load(key), "product", key)


async def order(info: Info, id: str) -> OrderRecord:
    key = parse_id(id)
    return _found(await info.context.loaders.orders.load(key), "order", key)
