"""Resolvers of graph answers: recommendations, similar users, bought together, popular products.

Neo4j answers with ids; the products and users themselves come through their loaders, batched with every
other lookup of the request. A user the graph does not know yet (a new customer, or one the relay has not
reached) gets the popular products, with that reason; one a strategy finds nothing new for gets the popular
products they do not have.
"""

from __future__ import annotations

from gateway.domain.records import Scored, UserRecord
from gateway.domain.strategies import DEFAULT_STRATEGY, Strategy
from gateway.errors import NotFound
from loaders.keys import RecommendationKey, TopKey
from resolvers.arguments import top_limit
from resolvers.info import Info


async def popular(info: Info, limit: int) -> list[Scored]:
    return await info.context.loaders.popular.load(top_limit(limit))


async def recommendations(info: Info, user_id: int, limit: int, strategy: Strategy = DEFAULT_STRATEGY) -> list[Scored]:
    limit = top_limit(limit)
    loader = info.context.loaders.recommendations
    answer = await loader.load(RecommendationKey(user_id, limit, strategy))
    if answer == [] and strategy != "popular":  # the graph knows the user, this strategy found nothing new
        answer = await loader.load(RecommendationKey(user_id, limit, "popular"))
    if not answer:
        if await info.context.loaders.users.load(user_id) is None:
            raise NotFound(f"user {user_id} not found")
        return await popular(info, limit)
    return answer


async def similar_users(info: Info, user_id: int, limit: int) -> list[UserRecord]:
    answer = await info.context.loaders.similar_users.load(TopKey(user_id, top_limit(limit))) or []
    users = await info.context.loaders.graph_users.load_many([scored.id for scored in answer])
    return [user for user in users if user is not None]


async def bought_together(info: Info, product_id: int, limit: int) -> list[Scored]:
    return await info.context.loaders.bought_together.load(TopKey(product_id, top_limit(limit))) or []
