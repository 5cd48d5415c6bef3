"""Orders (OrderRecord), their lines (OrderItemRecord), a user's order connection (an OrderPage) and its edges
(the OrderRecord itself: an edge's cursor is computed from its order, only when asked for)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf, loaded
from engine.fields.parts import PRODUCT_PARTS, USER_PARTS
from gateway.domain.records import OrderItemRecord, OrderRecord
from loaders.batcher import Batcher
from loaders.registry import Loaders
from resolvers import cursors
from resolvers.orders import OrderPage
from schema.types.pages import PageInfo


def _users(loaders: Loaders) -> Batcher[int, Any]:
    return loaders.users


def _user_rows(loaders: Loaders) -> Batcher[int, Any]:
    return loaders.user_rows


def _user_id(order: OrderRecord) -> int:
    return order.user_id


def _products(loaders: Loaders) -> Batcher[int, Any]:
    return loaders.products


def _product_rows(loaders: Loaders) -> Batcher[int, Any]:
    return loaders.product_rows


def _product_id(item: OrderItemRecord) -> int:
    return item.product_id


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
    "Order.user": Batch(loaded(_users, _user_id), loaded(_user_rows, _user_id), USER_PARTS),
    "Order.items": Batch(loaded(lambda loaders: loaders.order_items, lambda order: order.id)),
    "OrderItem.quantity": Leaf("s.quantity"),
    "OrderItem.unitPrice": Leaf("s.unit_price_cents"),
    "OrderItem.lineTotal": Leaf("s.unit_price_cents * s.quantity"),
    "OrderItem.product": Batch(loaded(_products, _product_id), loaded(_product_rows, _product_id), PRODUCT_PARTS),
    "OrderConnection.edges": Each(_orders),
    "OrderConnection.nodes": Each(_orders),
    "OrderConnection.pageInfo": Each(_page_info),
    "OrderConnection.totalCount": Batch(loaded(lambda loaders: loaders.order_counts, lambda page: page.user_id)),
    "OrderEdge.cursor": Leaf("order_cursor(s.created_at, s.id)"),
    "OrderEdge.node": Each(_itself),
    "PageInfo.hasNextPage": Leaf("s.has_next_page"),
    "PageInfo.hasPreviousPage": Leaf("s.has_previous_page"),
    "PageInfo.startCursor": Leaf("s.start_cursor"),
    "PageInfo.endCursor": Leaf("s.end_cursor"),
}
