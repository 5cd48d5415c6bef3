"""Orders (OrderRecord), their lines (OrderItemRecord), a user's order connection (an OrderPage) and its edges
(the OrderRecord itself: an edge's cursor is computed from its order, only when asked for)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf
from engine.fields.parts import PRODUCT_PARTS, USER_PARTS
from gateway.domain.records import OrderItemRecord, OrderRecord
from resolvers import cursors
from resolvers.orders import OrderPage
from schema.types.pages import PageInfo


async def _user(call: Call, orders: list[OrderRecord], args: Args) -> list[Any]:
    return await call.context.loaders.users.get_many([order.user_id for order in orders])


async def _user_row(call: Call, orders: list[OrderRecord], args: Args) -> list[Any]:
    return await call.context.loaders.user_rows.get_many([order.user_id for order in orders])


async def _items(call: Call, orders: list[OrderRecord], args: Args) -> list[Any]:
    return await call.context.loaders.order_items.get_many([order.id for order in orders])


async def _product(call: Call, items: list[OrderItemRecord], args: Args) -> list[Any]:
    return await call.context.loaders.products.get_many([item.product_id for item in items])


async def _product_row(call: Call, items: list[OrderItemRecord], args: Args) -> list[Any]:
    return await call.context.loaders.product_rows.get_many([item.product_id for item in items])


async def _total_count(call: Call, pages: list[OrderPage], args: Args) -> list[Any]:
    return await call.context.loaders.order_counts.get_many([page.user_id for page in pages])


def _page_info(call: Call, page: OrderPage, args: Args) -> PageInfo:
    orders = page.orders
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors.order_cursor(orders[0].created_at, orders[0].id) if orders else None,
        end_cursor=cursors.order_cursor(orders[-1].created_at, orders[-1].id) if orders else None,
    )


def _orders(call: Call, page: OrderPage, args: Args) -> list[OrderRecord]:
    return page.orders


def _itself(call: Call, source: Any, args: Args) -> Any:
    return source


FIELDS: dict[str, Impl] = {
    "Order.id": Leaf("s.id"),
    "Order.status": Leaf("s.status"),
    "Order.total": Leaf("s.total_cents"),
    "Order.createdAt": Leaf("s.created_at"),
    "Order.user": Batch(_user, _user_row, USER_PARTS),
    "Order.items": Batch(_items),
    "OrderItem.quantity": Leaf("s.quantity"),
    "OrderItem.unitPrice": Leaf("s.unit_price_cents"),
    "OrderItem.lineTotal": Leaf("s.unit_price_cents * s.quantity"),
    "OrderItem.product": Batch(_product, _product_row, PRODUCT_PARTS),
    "OrderConnection.edges": Each(_orders),
    "OrderConnection.nodes": Each(_orders),
    "OrderConnection.pageInfo": Each(_page_info),
    "OrderConnection.totalCount": Batch(_total_count),
    "OrderEdge.cursor": Leaf("order_cursor(s.created_at, s.id)"),
    "OrderEdge.node": Each(_itself),
    "PageInfo.hasNextPage": Leaf("s.has_next_page"),
    "PageInfo.hasPreviousPage": Leaf("s.has_previous_page"),
    "PageInfo.startCursor": Leaf("s.start_cursor"),
    "PageInfo.endCursor": Leaf("s.end_cursor"),
}
