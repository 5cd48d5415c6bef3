"""The root Query type."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import graph, lookup
from resolvers.info import Info
from schema.types import reports
from schema.types.backends import Backends
from schema.types.carts import viewer_cart
from schema.types.orders import Order
from schema.types.product_search import products
from schema.types.products import Product
from schema.types.recommendations import Recommendation
from schema.types.sessions import current_session
from schema.types.strategies import CATEGORY_ID, USE_PREFERENCES, RecommendationStrategy
from schema.types.sync import sync_status
from schema.types.users import User


@strawberry.type
class Query:
    @strawberry.field(description="A user by id; null with a NOT_FOUND error when there is none.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        return User.from_record(await lookup.user(info, id))

    @strawberry.field(description="The signed-in user (from the Bearer token); null for a guest.")
    async def viewer(self, info: Info) -> User | None:
        record = await lookup.viewer(info)
        return None if record is None else User.from_record(record)

    @strawberry.field(description="A product by id; null with a NOT_FOUND error when there is none.")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return Product.from_record(await lookup.product(info, id))

    products = strawberry.field(resolver=products, description="Products, filtered, sorted and paged.")

    @strawberry.field(description="An order by id, for its owner or an admin; null with NOT_FOUND if there is none.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return Order.from_record(await lookup.owned_order(info, id))

    @strawberry.field(description="What a user may buy next (Neo4j), best first; for that user or an admin.")
    async def recommendations(
        self,
        info: Info,
        user_id: strawberry.ID,
        limit: int = 10,
        strategy: RecommendationStrategy = RecommendationStrategy.GRAPH,
        category_id: Annotated[strawberry.ID | None, CATEGORY_ID] = None,
        use_preferences: Annotated[bool, USE_PREFERENCES] = False,
    ) -> list[Recommendation] | None:
        wanted = graph.Wanted(limit, strategy.strategy, category_id, use_preferences)
        scored = await graph.recommendations_for(info, user_id, wanted)
        return [Recommendation.from_scored(s) for s in scored]

    @strawberry.field(description="The best-selling products (Neo4j), by units sold.")
    async def popular_products(self, info: Info, limit: int = 10) -> list[Product] | None:
        return [Product.from_record(record) for record in await graph.popular_products(info, limit)]

    cart = strawberry.field(
        resolver=viewer_cart, description="The viewer's cart, or a guest's (X-Session-Id; else BAD_USER_INPUT)."
    )

    session = strawberry.field(
        resolver=current_session,
        description="The request's session (X-Session-Id or the session cookie); null without one, or once expired.",
    )

    sales_report = strawberry.field(
        resolver=reports.sales_report,
        description="Admins: orders, units and revenue per UTC day, category, or both, from the last report build.",
    )
    funnel = strawberry.field(
        resolver=reports.funnel, description="Admins: views → cart adds → purchases, overall and per product."
    )
    top_searches = strawberry.field(
        resolver=reports.top_searches, description="Admins: the search texts searched most often, most first."
    )

    @strawberry.field(description="The four stores behind this gateway, each read live.")
    def backends(self) -> Backends:
        return Backends()

    sync_status = strawberry.field(
        resolver=sync_status,
        description="Admin: how far MongoDB and Neo4j are from MySQL: counts per store (a store that is down "
        "fails only its own), the outbox backlog, lag and parked events, and the last reconcile check.",
    )
