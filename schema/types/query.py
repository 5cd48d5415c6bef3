"""The root Query type."""

from __future__ import annotations

import strawberry

from resolvers import graph, lookup
from resolvers.info import Info
from schema.types.backends import Backends
from schema.types.orders import Order
from schema.types.product_search import products
from schema.types.products import Product
from schema.types.recommendations import Recommendation
from schema.types.users import User


@strawberry.type
class Query:
    @strawberry.field(description="A user by id; null with a NOT_FOUND error when there is none.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        return User.from_record(await lookup.user(info, id))

    @strawberry.field(description="The signed-in user; null for a guest.")
    def viewer(self) -> User | None:
        return None

    @strawberry.field(description="A product by id; null with a NOT_FOUND error when there is none.")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return Product.from_record(await lookup.product(info, id))

    products = strawberry.field(resolver=products, description="Products, filtered, sorted and paged.")

    @strawberry.field(description="An order by id; null with a NOT_FOUND error when there is none.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return Order.from_record(await lookup.order(info, id))

    @strawberry.field(description="What a user may buy next (Neo4j), best first.")
    async def recommendations(self, info: Info, user_id: strawberry.ID, limit: int = 10) -> list[Recommendation] | None:
        user = await lookup.user(info, user_id)
        return [Recommendation.from_scored(s) for s in await graph.recommendations(info, user.id, limit)]

    @strawberry.field(description="The best-selling products (Neo4j), by units sold.")
    async def popular_products(self, info: Info, limit: int = 10) -> list[Product] | None:
        scored = await graph.popular(info, limit)
        records = await info.context.loaders.products.load_many([s.id for s in scored])
        return [Product.from_record(record) for record in records if record is not None]

    @strawberry.field(description="The four stores behind this gateway, each read live.")
    def backends(self) -> Backends:
        return Backends()
