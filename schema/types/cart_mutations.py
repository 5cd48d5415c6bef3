"""The cart mutations: change the viewer's (or the guest session's) cart, merge a guest cart, check out."""

from __future__ import annotations

import strawberry

from resolvers import carts
from resolvers.info import Info
from schema.types.carts import Cart
from schema.types.orders import Order


@strawberry.type
class CartMutations:
    @strawberry.mutation(
        description="Add units of a product to the viewer's cart, or to the guest session's (X-Session-Id). At "
        "most 1000 units of one product and GATEWAY_MAX_ORDER_LINES (50) different products, else BAD_USER_INPUT."
    )
    async def add_to_cart(self, info: Info, product_id: strawberry.ID, quantity: int = 1) -> Cart:
        return Cart(lines=await carts.add(info, product_id, quantity))

    @strawberry.mutation(description="Take units of a product off the cart; without quantity, the whole line.")
    async def remove_from_cart(self, info: Info, product_id: strawberry.ID, quantity: int | None = None) -> Cart:
        return Cart(lines=await carts.remove(info, product_id, quantity))

    @strawberry.mutation(
        description="Signed in with the guest's X-Session-Id: add the guest cart into the viewer's (at most 1000 "
        "units of a product) and delete it, atomically: merging again adds nothing."
    )
    async def merge_guest_cart(self, info: Info) -> Cart:
        return Cart(lines=await carts.merge_guest(info))

    @strawberry.mutation(
        description="Order the viewer's cart (as createOrder, with this idempotencyKey); the ordered lines leave the "
        "cart only once the order is committed. OUT_OF_STOCK and the like leave the cart as it was; an empty cart "
        "is BAD_USER_INPUT. The same key again returns the same order."
    )
    async def checkout(self, info: Info, idempotency_key: str) -> Order:
        return Order.from_record(await carts.checkout(info, idempotency_key))
