"""Loaders of graph answers (Neo4j): one ``UNWIND $ids`` query per batch (per strategy, for recommendations), the
largest ``limit`` asked for."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

from gateway.domain.records import Scored
from gateway.domain.strategies import DEFAULT_STRATEGY
from gateway.stores import Sources
from gateway.stores.neo4j import reads as neo4j_reads
from gateway.stores.neo4j import recommendations as neo4j_recommendations
from loaders.cached import Parts
from loaders.keys import MAX_TOP, RecommendationKey, TopKey

TopQuery = Callable[..., Awaitable[list[list[Scored] | None]]]


async def _top(
    query: TopQuery, source: object, keys: Sequence[TopKey | RecommendationKey]
) -> list[list[Scored] | None]:
    limit = max(key.limit for key in keys)
    answers = await query(source, [key.id for key in keys], limit=limit)
    return [None if answer is None else answer[: key.limit] for answer, key in zip(answers, keys, strict=True)]


class GraphBatches:
    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    async def recommendations(self, keys: list[RecommendationKey]) -> Sequence[list[Scored] | None]:
        """One query per strategy and category among the keys (a request usually asks for one)."""
        answers: dict[RecommendationKey, list[Scored] | None] = {}
        for strategy, category in dict.fromkeys((key.strategy, key.category) for key in keys):
            group = [key for key in keys if (key.strategy, key.category) == (strategy, category)]
            query = functools.partial(neo4j_recommendations.recommendations, strategy=strategy, category=category)
            answers.update(zip(group, await _top(query, self.sources.neo4j, group), strict=True))
        return [answers[key] for key in keys]

    async def recommendation_parts(self, user_ids: list[int]) -> list[Parts]:
        """A user's recommendations by the default strategy as the cache holds them: the longest list a client may
        ask for (the other strategies are not cached)."""
        answers = await neo4j_recommendations.recommendations(
            self.sources.neo4j, user_ids, limit=MAX_TOP, strategy=DEFAULT_STRATEGY
        )
        return [{"items": None if answer is None else tuple(answer)} for answer in answers]

    async def similar_users(self, keys: list[TopKey]) -> Sequence[list[Scored] | None]:
        return await _top(neo4j_reads.similar_users, self.sources.neo4j, keys)

    async def bought_together(self, keys: list[TopKey]) -> Sequence[list[Scored] | None]:
        return await _top(neo4j_reads.bought_together, self.sources.neo4j, keys)

    async def popular_parts(self, keys: list[int]) -> list[Parts]:
        """The popular products as the cache holds them (one list, key 0): the longest list a client may ask for."""
        top = await neo4j_reads.popular_products(self.sources.neo4j, limit=MAX_TOP)
        return [{"items": tuple(top)} for _ in keys]

    async def popular_in(self, keys: list[TopKey]) -> Sequence[list[Scored]]:
        """The best sellers in a category (``TopKey(category, limit)``): one query per category."""
        answers: dict[TopKey, list[Scored]] = {}
        for category in dict.fromkeys(key.id for key in keys):
            group = [key for key in keys if key.id == category]
            top = await neo4j_reads.popular_products(
                self.sources.neo4j, limit=max(k.limit for k in group), category=category
            )
            answers.update((key, top[: key.limit]) for key in group)
        return [answers[key] for key in keys]

    async def popular(self, limits: list[int]) -> Sequence[list[Scored]]:
        top = await neo4j_reads.popular_products(self.sources.neo4j, limit=max(limits))
        return [top[:limit] for limit in limits]
