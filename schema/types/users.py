"""Users (MySQL) with their MongoDB profile, MySQL orders and Neo4j recommendations and look-alikes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from gateway.records import UserRecord
from resolvers import graph, orders
from resolvers.info import Info

if TYPE_CHECKING:
    from schema.types.orders import OrderConnection
    from schema.types.recommendations import Recommendation


@strawberry.type(description="Preferences and statistics kept in MongoDB.")
class UserProfile:
    favorite_genres: list[str]
    preferences: JSON
    stats: JSON


@strawberry.type
class User:
    key: strawberry.Private[int]
    id: strawberry.ID
    email: str
    name: str
    age: int | None
    gender: str | None
    occupation: str | None
    zip_code: str | None
    created_at: datetime

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(
            key=record.id,
            id=strawberry.ID(str(record.id)),
            email=record.email,
            name=record.name,
            age=record.age,
            gender=record.gender,
            occupation=record.occupation,
            zip_code=record.zip_code,
            created_at=record.created_at,
        )

    @strawberry.field(description="Profile (MongoDB); null when the user has none.")
    async def profile(self, info: Info) -> UserProfile | None:
        record = await info.context.loaders.profiles.load(self.key)
        if record is None:
            return None
        return UserProfile(
            favorite_genres=list(record.preferences.get("genres", [])),
            preferences=JSON(record.preferences),
            stats=JSON(record.stats),
        )

    @strawberry.field(description="Orders, newest first (MySQL).")
    async def orders(
        self, info: Info, first: int = 10, after: str | None = None
    ) -> Annotated[OrderConnection, strawberry.lazy("schema.types.orders")] | None:
        from schema.types.orders import OrderConnection

        return OrderConnection.from_page(self.key, await orders.page(info, self.key, first, after))

    @strawberry.field(description="What to buy next (Neo4j), best first.")
    async def recommendations(
        self, info: Info, limit: int = 10
    ) -> list[Annotated[Recommendation, strawberry.lazy("schema.types.recommendations")]] | None:
        from schema.types.recommendations import Recommendation

        return [Recommendation.from_scored(s) for s in await graph.recommendations(info, self.key, limit)]

    @strawberry.field(description="Customers whose purchases are most like this user's (Neo4j).")
    async def similar_users(self, info: Info, limit: int = 5) -> list[User] | None:
        return [User.from_record(record) for record in await graph.similar_users(info, self.key, limit)]
