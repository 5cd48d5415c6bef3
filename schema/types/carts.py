"""Carts (Redis; a signed-in user's snapshotted to MySQL). Their mutations: cart_mutations.py."""

from __future__ import annotations

import strawberry

from resolvers import carts
from resolvers.info import Info
from schema.scalars import Money
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
