"""Users (MySQL) with their MongoDB profile, MySQL orders and Neo4j recommendations and look-alikes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from gateway.domain.records import UserRecord
from resolvers import carts, events, graph, orders
from resolvers.info import Info
from resolvers.permissions import owner_or_admin
from schema.types.strategies import CATEGORY_ID, USE_PREFERENCES, RecommendationStrategy

if TYPE_CHECKING:
    from schema.types.carts import Cart
    from schema.types.orders import OrderConnection
    from schema.types.products import Product
    from schema.types.recommendations import Recommendation


@strawberry.type(description="Preferences and statistics kept in MongoDB.")
class UserProfile:
    favorite_genres: list[str] = strawberry.field(description="preferences.genres (updateProfile).")
    preferences: JSON = strawberry.field(
        description="As stored: genres (category names) and category_ids (updateProfile); seeded profiles may hold "
        "other keys."
    )
    stats: JSON = strawberry.field(
        description="ratings (how many) and rating_avg, recomputed from MySQL by the relay after each rating."
    )


@strawberry.type(
    description="A customer. id, name and createdAt are public; every other field is readable by the user "
    "themself and by admins only (UNAUTHENTICATED for a guest, FORBIDDEN for another user)."
)
class User:
    record: strawberry.Private[UserRecord]
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(record=record, id=strawberry.ID(str(record.id)), name=record.name, created_at=record.created_at)

    @property
    def key(self) -> int:
        return self.record.id

    @strawberry.field(description="Private (nullable so that a refusal nulls this field only).")
    def email(self, info: Info) -> str | None:
        owner_or_admin(info, self.key, "the email")
        return self.record.email

    @strawberry.field(description="Private.")
    def age(self, info: Info) -> int | None:
        owner_or_admin(info, self.key, "the age")
        return self.record.age

    @strawberry.field(description="Private.")
    def gender(self, info: Info) -> str | None:
        owner_or_admin(info, self.key, "the gender")
        return self.record.gender

    @strawberry.field(description="Private.")
    def occupation(self, info: Info) -> str | None:
        owner_or_admin(info, self.key, "the occupation")
        return self.record.occupation

    @strawberry.field(description="Private.")
    def zip_code(self, info: Info) -> str | None:
        owner_or_admin(info, self.key, "the zip code")
        return self.record.zip_code

    @strawberry.field(description="Profile (MongoDB); null when the user has none. Private.")
    async def profile(self, info: Info) -> UserProfile | None:
        owner_or_admin(info, self.key, "the profile")
        record = await info.context.loaders.profiles.load(self.key)
        if record is None:
            return None
        return UserProfile(
            favorite_genres=list(record.preferences.get("genres", [])),
            preferences=JSON(record.preferences),
            stats=JSON(record.stats),
        )

    @strawberry.field(description="Orders, newest first (MySQL). Private.")
    async def orders(
        self, info: Info, first: int = 10, after: str | None = None
    ) -> Annotated[OrderConnection, strawberry.lazy("schema.types.orders")] | None:
        from schema.types.orders import OrderConnection

        owner_or_admin(info, self.key, "the orders")
        return OrderConnection.from_page(await orders.page(info, self.key, first, after))

    @strawberry.field(description="The cart (Redis; restored from its MySQL snapshot after a Redis loss). Private.")
    async def cart(self, info: Info) -> Annotated[Cart, strawberry.lazy("schema.types.carts")] | None:
        from schema.types.carts import Cart

        owner_or_admin(info, self.key, "the cart")
        return Cart(lines=await carts.user_cart(info, self.key))

    @strawberry.field(description="What to buy next (Neo4j), best first. Private: it reveals purchases.")
    async def recommendations(
        self,
        info: Info,
        limit: int = 10,
        strategy: RecommendationStrategy = RecommendationStrategy.GRAPH,
        category_id: Annotated[strawberry.ID | None, CATEGORY_ID] = None,
        use_preferences: Annotated[bool, USE_PREFERENCES] = False,
    ) -> list[Annotated[Recommendation, strawberry.lazy("schema.types.recommendations")]] | None:
        from schema.types.recommendations import Recommendation

        owner_or_admin(info, self.key, "the recommendations")
        wanted = graph.Wanted(limit, strategy.strategy, category_id, use_preferences)
        scored = await graph.recommendations(info, self.key, wanted)
        return [Recommendation.from_scored(s) for s in scored]

    @strawberry.field(
        description="The products this user viewed (X-Gateway-View), the latest view first, each once (MongoDB "
        "events; a view shows within a second). Private."
    )
    async def recently_viewed(
        self, info: Info, limit: int = 10
    ) -> list[Annotated[Product, strawberry.lazy("schema.types.products")]] | None:
        from schema.types.products import Product

        owner_or_admin(info, self.key, "the recently viewed products")
        (records,) = await events.recently_viewed_many(info, [self.key], limit)
        return [Product.from_record(record) for record in records]

    @strawberry.field(description="Customers whose purchases are most like this user's (Neo4j). Private.")
    async def similar_users(self, info: Info, limit: int = 5) -> list[User] | None:
        owner_or_admin(info, self.key, "the similar users")
        return [User.from_record(record) for record in await graph.similar_users(info, self.key, limit)]
