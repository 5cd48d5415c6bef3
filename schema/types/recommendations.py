"""A recommended product with its score and the reason it was chosen (Neo4j), the product from MySQL."""

from __future__ import annotations

import strawberry

from gateway.domain.records import Scored
from resolvers.info import Info
from schema.types.products import Product


@strawberry.type
class Recommendation:
    product_id: strawberry.Private[int]
    score: float = strawberry.field(description="Higher is better; comparable within one list only.")
    reason: str

    @classmethod
    def from_scored(cls, scored: Scored) -> Recommendation:
        return cls(product_id=scored.id, score=scored.score, reason=scored.reason)

    @strawberry.field(description="The product (MySQL); null if it no longer exists.")
    async def product(self, info: Info) -> Product | None:
        record = await info.context.loaders.graph_products.load(self.product_id)
        return None if record is None else Product.from_record(record)
