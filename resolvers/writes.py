"""Mutations act as the viewer: validated input, then ONE MySQL transaction with its outbox event.

Neo4j and MongoDB follow through the relay (gateway/jobs/relay.py); nothing here calls them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress

from gateway.domain.records import OrderRecord
from gateway.errors import BadUserInput, Forbidden
from gateway.stores.mysql import orders as mysql_orders
from gateway.stores.mysql.orders import Line
from resolvers.arguments import parse_id
from resolvers.freshness import forget
from resolvers.info import Resolving
from resolvers.permissions import signed_in

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
MAX_QUANTITY = 1000


def order_lines(info: Resolving, items: Sequence[tuple[str, int]]) -> list[Line]:
    limit = info.context.settings.max_order_lines
    if not 1 <= len(items) <= limit:
        raise BadUserInput(f"an order has 1 to {limit} lines, got {len(items)}")
    quantities: Counter[int] = Counter()
    for product_id, quantity in items:
        if not 1 <= quantity <= MAX_QUANTITY:
            raise BadUserInput(f"quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")
        quantities[parse_id(product_id, "productId")] += quantity
    if any(quantity > MAX_QUANTITY for quantity in quantities.values()):
        raise BadUserInput(f"quantity must be between 1 and {MAX_QUANTITY} per product")
    return [Line(product_id, quantity) for product_id, quantity in sorted(quantities.items())]


async def create_order(info: Resolving, items: Sequence[tuple[str, int]], idempotency_key: str) -> OrderRecord:
    viewer = signed_in(info)
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise BadUserInput("idempotencyKey must be 8 to 128 letters, digits, or . _ : -")
    lines = order_lines(info, items)
    request_hash = hashlib.sha256(json.dumps([[line.product_id, line.quantity] for line in lines]).encode()).hexdigest()
    order_id, _ = await mysql_orders.create_order(
        info.context.sources.mysql,
        info.context.settings.write_timeout_s,
        user_id=viewer.user_id,
        lines=lines,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    # Stock moved and the buyer has another order: cached responses showing either go now.
    await forget(info, products=[line.product_id for line in lines], users=[viewer.user_id], orders=[order_id])
    return await _order(info, order_id)


async def change_status(info: Resolving, order_id: str, status: str) -> OrderRecord:
    viewer = signed_in(info)
    key = parse_id(order_id, "orderId")
    if status == "cancelled":  # the owner (or an admin), while not shipped: a shipped order is a CONFLICT
        owner = None if viewer.is_admin else viewer.user_id
    else:
        if not viewer.is_admin:
            raise Forbidden("only an admin changes an order's status")
        owner = None
    await mysql_orders.change_status(
        info.context.sources.mysql, info.context.settings.write_timeout_s, order_id=key, status=status, owner=owner
    )
    with suppress(KeyError):  # not loaded yet in this request: nothing stale to drop
        info.context.loaders.orders.clear(key)
    record = await _order(info, key)
    items = await info.context.loaders.order_items.load(key)  # a cancel put their stock back
    await forget(info, products=[item.product_id for item in items], users=[record.user_id], orders=[key])
    return await _order(info, key)


async def rate_product(info: Resolving, product_id: str, rating: int) -> int:
    viewer = signed_in(info)
    if not 1 <= rating <= 5:
        raise BadUserInput(f"rating must be 1 to 5, got {rating}")
    key = parse_id(product_id, "productId")
    await mysql_orders.upsert_rating(
        info.context.sources.mysql,
        info.context.settings.write_timeout_s,
        user_id=viewer.user_id,
        product_id=key,
        rating=rating,
    )
    return key


async def _order(info: Resolving, order_id: int) -> OrderRecord:
    record = await info.context.loaders.orders.load(order_id)
    if record is None:
        raise BadUserInput(f"order {order_id} vanished")
    return record
