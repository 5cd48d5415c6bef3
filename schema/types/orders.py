"""Orders and their lines (MySQL)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.domain.records import OrderItemRecord, OrderRecord
from resolvers import cursors
from resolvers.info import Info
from resolvers.orders import OrderPage
from schema.scalars import Money
from schema.types.pages import PageInfo
from schema.types.products import Product

if TYPE_CHECKING:
    from schema.types.users import User


@strawberry.enum
class OrderStatus(Enum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


@strawberry.type
class OrderItem:
    product_id: strawberry.Private[int]
    quantity: int
    unit_price: Money

    @classmethod
    def from_record(cls, record: OrderItemRecord) -> OrderItem:
        return cls(product_id=record.product_id, quantity=record.quantity, unit_price=Money(record.unit_price_cents))

    @strawberry.field
    def line_total(self) -> Money:
        return Money(self.unit_price * self.quantity)

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        record = await info.context.loaders.products.load(self.product_id)
        return None if record is None else Product.from_record(record)


@strawberry.type
class Order:
    key: strawberry.Private[int]
    user_id: strawberry.Private[int]
    id: strawberry.ID
    status: OrderStatus
    total: Money
    created_at: datetime

    @classmethod
    def from_record(cls, record: OrderRecord) -> Order:
        return cls(
            key=record.id,
            user_id=record.user_id,
            id=strawberry.ID(str(record.id)),
            status=OrderStatus(record.status),
            total=Money(record.total_cents),
            created_at=record.created_at,
        )

    @strawberry.field
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.types.users")] | None:
        from schema.types.users import User

        record = await info.context.loaders.users.load(self.user_id)
        return None if record is None else User.from_record(record)

    @strawberry.field
    async def items(self, info: Info) -> list[OrderItem]:
        return [OrderItem.from_record(item) for item in await info.context.loaders.order_items.load(self.key)]


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class OrderConnection:
    user_id: strawberry.Private[int]
    edges: list[OrderEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Order]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="All of the user's orders (one extra COUNT, only when asked for).")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.order_counts.load(self.user_id)

    @classmethod
    def from_page(cls, page: OrderPage) -> OrderConnection:
        edges = [
            OrderEdge(cursor=cursors.order_cursor(o.created_at, o.id), node=Order.from_record(o)) for o in page.orders
        ]
        return cls(
            user_id=page.user_id,
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
