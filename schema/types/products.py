"""Products and categories. MySQL owns a product; its MongoDB and Neo4j fields are nullable, so that a store that is
down nulls only its own fields (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from gateway.domain.records import CategoryRecord, ProductRecord
from resolvers import graph
from resolvers.info import Info
from schema.scalars import Money


@strawberry.type(description="A node of the category tree (MySQL).")
class Category:
    id: strawberry.ID
    name: str
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, record: CategoryRecord) -> Category:
        return cls(id=strawberry.ID(str(record.id)), name=record.name, parent_id=record.parent_id)

    @strawberry.field(description="The parent category; null for a root.")
    async def parent(self, info: Info) -> Category | None:
        if self.parent_id is None:
            return None
        record = await info.context.loaders.categories.load(self.parent_id)
        return None if record is None else Category.from_record(record)


@strawberry.type(description="Ratings of a product, computed from MySQL's ratings (eventually consistent).")
class RatingSummary:
    average: float | None = strawberry.field(description="Mean rating, 1 to 5; null before the first rating.")
    count: int
    stddev: float | None


@strawberry.type(description="A product: its MySQL row joined with its MongoDB document, metrics and graph.")
class Product:
    key: strawberry.Private[int]
    id: strawberry.ID
    sku: str
    title: str
    price: Money
    currency: str = strawberry.field(description="ISO 4217 code of price.")
    release_year: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: ProductRecord) -> Product:
        return cls(
            key=record.id,
            id=strawberry.ID(str(record.id)),
            sku=record.sku,
            title=record.title,
            price=Money(record.price_cents),
            currency=record.currency,
            release_year=record.release_year,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    @strawberry.field(description="Its categories (MySQL).")
    async def categories(self, info: Info) -> list[Category]:
        return [Category.from_record(c) for c in await info.context.loaders.categories_by_product.load(self.key)]

    @strawberry.field(description="Units in stock (MySQL); null when the product has no inventory row.")
    async def inventory(self, info: Info) -> int | None:
        return await info.context.loaders.inventory.load(self.key)

    @strawberry.field(description="Attributes registered for its categories (MongoDB).")
    async def attributes(self, info: Info) -> JSON | None:
        document = await info.context.loaders.product_documents.load(self.key)
        return None if document is None else JSON(document.attributes)

    @strawberry.field(description="Long description (MongoDB).")
    async def description(self, info: Info) -> str | None:
        document = await info.context.loaders.product_documents.load(self.key)
        return None if document is None else document.description

    @strawberry.field(description="Tags (MongoDB).")
    async def tags(self, info: Info) -> list[str] | None:
        document = await info.context.loaders.product_documents.load(self.key)
        return None if document is None else list(document.tags)

    @strawberry.field(description="Rating summary (MongoDB product_metrics).")
    async def rating(self, info: Info) -> RatingSummary | None:
        metrics = await info.context.loaders.metrics.load(self.key)
        if metrics is None:
            return None
        return RatingSummary(average=metrics.rating_avg, count=metrics.rating_count, stddev=metrics.rating_std)

    @strawberry.field(description="Units sold (MongoDB product_metrics).")
    async def popularity(self, info: Info) -> int | None:
        metrics = await info.context.loaders.metrics.load(self.key)
        return None if metrics is None else metrics.popularity

    @strawberry.field(description="Products most often in the same order as this one (Neo4j), best first.")
    async def bought_together(self, info: Info, limit: int = 5) -> list[Product] | None:
        return [Product.from_record(record) for record in await graph.bought_together(info, self.key, limit)]
