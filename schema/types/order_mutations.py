"""Order and rating mutations: they act as the viewer, MySQL first, the other stores through the outbox."""

from __future__ import annotations

import strawberry

from resolvers import lookup, writes
from resolvers.info import Info
from schema.types.orders import Order, OrderStatus
from schema.types.products import Product


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateOrderInput:
    items: list[OrderLineInput]


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Order the items as the viewer, all or nothing (OUT_OF_STOCK). The same idempotencyKey with the "
        "same input returns the same order and changes nothing; with another input it is a CONFLICT."
    )
    async def create_order(self, info: Info, input: CreateOrderInput, idempotency_key: str) -> Order:
        items = [(line.product_id, line.quantity) for line in input.items]
        return Order.from_record(await writes.create_order(info, items, idempotency_key))

    @strawberry.mutation(description="Cancel the viewer's order while it has not shipped; restores inventory.")
    async def cancel_order(self, info: Info, id: strawberry.ID) -> Order:
        return Order.from_record(await writes.change_status(info, id, "cancelled"))

    @strawberry.mutation(description="Admin: move an order along pending → paid → shipped → delivered.")
    async def update_order_status(self, info: Info, id: strawberry.ID, status: OrderStatus) -> Order:
        return Order.from_record(await writes.change_status(info, id, status.value))

    @strawberry.mutation(description="Rate a product 1 to 5 as the viewer (again: replaces the rating).")
    async def rate_product(self, info: Info, product_id: strawberry.ID, rating: int) -> Product:
        key = await writes.rate_product(info, product_id, rating)
        return Product.from_record(await lookup.product(info, str(key)))
