"""Carts (Redis; a signed-in user's snapshotted to MySQL) and the cart mutations."""

from __future__ import annotations

import strawberry

from resolvers import carts
from resolvers.info import Info
from schema.scalars import Money
from schema.types.orders import Order
from schema.types.products import Product


@strawberry.type(description="A line of a cart: a product and how many of it.")
class CartItem:
    product_id: strawberry.Private[int]
    quantity: int

    @strawberry.field(description="The product (MySQL); null when it has left the catalogue since it was added.")
    async def product(self, info: Info) -> Product | None:
        record = await info.context.loaders.products.load(self.product_id)
        return None if record is None else Product.from_record(record)

    @strawberry.field(description="Current price × quantity; null when the product has left the catalogue.")
    async def line_total(self, info: Info) -> Money | None:
        record = await info.context.loaders.products.load(self.product_id)
        return None if record is None else Money(record.price_cents * self.quantity)


@strawberry.type(
    description="A cart, kept in Redis until GATEWAY_CART_TTL_S (30 days) after its last change, a guest session's "
    "until GATEWAY_GUEST_CART_TTL_S (7 days); a signed-in user's is snapshotted to MySQL and survives a Redis loss. "
    "Prices are the current ones."
)
class Cart:
    lines: strawberry.Private[dict[int, int]]

    @strawberry.field(description="The lines, by product id.")
    def items(self) -> list[CartItem]:
        return [CartItem(product_id=p, quantity=q) for p, q in sorted(self.lines.items())]

    @strawberry.field(description="Units over all lines.")
    def total_quantity(self) -> int:
        return sum(self.lines.values())

    @strawberry.field(description="Sum of the line totals at current prices (a product gone from the catalogue: 0).")
    async def subtotal(self, info: Info) -> Money:
        records = await info.context.loaders.products.load_many(sorted(self.lines))
        return Money(sum(r.price_cents * self.lines[r.id] for r in records if r is not None))


async def viewer_cart(info: Info) -> Cart | None:
    """Query.cart: the signed-in viewer's cart, else the guest session's (X-Session-Id)."""
    return Cart(lines=await carts.viewer_cart(info))


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
