"""How a list of recommendations is chosen (gateway/stores/neo4j/recommendations.py; docs/recommendations.md)."""

from __future__ import annotations

from enum import Enum
from typing import cast

import strawberry

from gateway.domain.strategies import Strategy


@strawberry.enum(description="How recommendations are chosen; every strategy leaves out what the user already has.")
class RecommendationStrategy(Enum):
    GRAPH = strawberry.enum_value(
        "graph",
        description="The default: what the customers whose purchases best match yours, your most recent above all, "
        "chose; popular products count for less.",
    )
    SIMILAR_USERS = strawberry.enum_value(
        "similar_users",
        description="What the customers who share the most products with you (similarUsers) chose, all your history "
        "weighing the same.",
    )
    POPULAR = strawberry.enum_value("popular", description="The best-selling products.")

    @property
    def strategy(self) -> Strategy:
        return cast(Strategy, self.value)


# The arguments recommendations share on Query and User.
CATEGORY_ID = strawberry.argument(
    description="Only products in this category or one of its subcategories (an unknown id: an empty list)."
)
USE_PREFERENCES = strawberry.argument(
    description="Weigh the list by the user's profile preferences (updateProfile): a product matching them scores up "
    "to 1.15 times as much. Without the profile (MongoDB down) the list comes unweighed."
)
