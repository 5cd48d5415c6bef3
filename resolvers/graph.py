"""Resolvers of graph answers: recommendations, similar users, bought together, popular products.

Neo4j answers with ids; the products and users themselves come through their loaders, batched with every
other lookup of the request. A user the graph does not know yet (a new customer, or one the relay has not
reached) gets the popular products, with that reason; one a strategy finds nothing new for gets the popular
products they do not have.

With a category, every list (the popular fallbacks too) keeps the products in it or in its subcategories; with
preferences, the list is weighed by the user's (docs/recommendations.md#a-category-and-the-users-preferences).

Each answer is computed for many keys at once (``*_many``: one value per key, or the exception that kept it):
the plan executor asks for every parent of a plan node together; the strawberry resolvers ask for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.domain.records import ProductRecord, Scored, UserRecord
from gateway.domain.strategies import DEFAULT_STRATEGY, Strategy
from gateway.errors import NotFound
from loaders.batcher import Batcher
from loaders.keys import MAX_TOP, RecommendationKey, TopKey
from resolvers import preferences
from resolvers.arguments import parse_id, top_limit
from resolvers.info import Resolving
from resolvers.lookup import user as user_by_id
from resolvers.permissions import owner_or_admin, signed_in
from resolvers.results import one

T = TypeVar("T")


async def popular(info: Resolving, limit: int) -> list[Scored]:
    return await info.context.loaders.popular.load(top_limit(limit))


async def popular_products(info: Resolving, limit: int) -> list[ProductRecord]:
    scored = await popular(info, limit)
    records = await info.context.loaders.graph_products.load_many([s.id for s in scored])
    return [record for record in records if record is not None]


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a recommendation list is asked for: how many, by which strategy, in which category (and its
    subcategories; an id as the client sent it), weighed by the user's preferences or not."""

    limit: int = 10
    strategy: Strategy = DEFAULT_STRATEGY
    category_id: str | None = None
    use_preferences: bool = False


DEFAULT = Wanted()


async def recommendations_many(
    info: Resolving, user_ids: Sequence[int], wanted: Wanted = DEFAULT
) -> list[list[Scored] | BaseException]:
    """Each user's list. With preferences, the strategy's best ``MAX_TOP`` are weighed (resolvers/preferences.py)
    and the best ``limit`` of them answered."""
    limit = top_limit(wanted.limit)
    category = None if wanted.category_id is None else parse_id(wanted.category_id, "categoryId")
    pool = MAX_TOP if wanted.use_preferences else limit
    loaders = info.context.loaders
    strategy = wanted.strategy
    answers: list[Any] = await loaders.recommendations.get_many(
        [RecommendationKey(u, pool, strategy, category) for u in user_ids]
    )
    if strategy != "popular":  # the graph knows the user, this strategy found nothing new: the popular strategy's
        again = [i for i, answer in enumerate(answers) if answer == []]
        if again:
            keys = [RecommendationKey(user_ids[i], pool, "popular", category) for i in again]
            for i, answer in zip(again, await loaders.recommendations.get_many(keys), strict=True):
                answers[i] = answer
    empty = [i for i, answer in enumerate(answers) if not isinstance(answer, BaseException) and not answer]
    if empty:  # unknown to the graph: a user MySQL does not know either is NOT_FOUND, the others get the popular
        users = await loaders.users.get_many([user_ids[i] for i in empty])
        top: list[Scored] | BaseException | None = None
        for i, user in zip(empty, users, strict=True):
            if isinstance(user, BaseException):
                answers[i] = user
            elif user is None:
                answers[i] = NotFound(f"user {user_ids[i]} not found")
            elif answers[i] is None or category is None:  # an empty list in a category stays empty
                if top is None:
                    (top,) = await (
                        loaders.popular.get_many([pool])
                        if category is None
                        else loaders.popular_in.get_many([TopKey(category, pool)])
                    )
                answers[i] = top
    if wanted.use_preferences:
        return await preferences.weighed(info, user_ids, answers, limit)
    return answers


async def recommendations(info: Resolving, user_id: int, wanted: Wanted = DEFAULT) -> list[Scored]:
    return one(await recommendations_many(info, [user_id], wanted))


async def recommendations_for(info: Resolving, user_id: str, wanted: Wanted) -> list[Scored]:
    """``Query.recommendations``: for a signed-in user, their own or (an admin) anyone's."""
    signed_in(info)
    user = await user_by_id(info, user_id)
    owner_or_admin(info, user.id, "the recommendations")
    return await recommendations(info, user.id, wanted)


async def _records(loader: Batcher[int, T | None], lists: Sequence[Any]) -> list[list[T] | BaseException]:
    """Each list of scored ids as the records of the ids that exist (one batch for all), or an exception: the
    list's own, or the first of its records' (a record that failed fails its whole list, as ``load_many``)."""
    ids = list(dict.fromkeys(s.id for answer in lists if isinstance(answer, list) for s in answer))
    found = dict(zip(ids, await loader.get_many(ids), strict=True)) if ids else {}
    out: list[list[T] | BaseException] = []
    for answer in lists:
        if isinstance(answer, BaseException):
            out.append(answer)
            continue
        records = [found[s.id] for s in answer or ()]
        failed = next((r for r in records if isinstance(r, BaseException)), None)
        out.append(failed if failed is not None else [r for r in records if r is not None])
    return out


async def similar_users_many(
    info: Resolving, user_ids: Sequence[int], limit: int
) -> list[list[UserRecord] | BaseException]:
    keys = [TopKey(user_id, top_limit(limit)) for user_id in user_ids]
    answers = await info.context.loaders.similar_users.get_many(keys)
    return await _records(info.context.loaders.graph_users, answers)


async def similar_users(info: Resolving, user_id: int, limit: int) -> list[UserRecord]:
    return one(await similar_users_many(info, [user_id], limit))


async def bought_together_many(
    info: Resolving, product_ids: Sequence[int], limit: int, *, rows_only: bool = False
) -> list[list[ProductRecord] | BaseException]:
    """``rows_only``: the products' MySQL rows are all the caller reads of them (engine/fields/parts.py)."""
    keys = [TopKey(product_id, top_limit(limit)) for product_id in product_ids]
    answers = await info.context.loaders.bought_together.get_many(keys)
    loaders = info.context.loaders
    return await _records(loaders.graph_product_rows if rows_only else loaders.graph_products, answers)


async def bought_together(info: Resolving, product_id: int, limit: int) -> list[ProductRecord]:
    return one(await bought_together_many(info, [product_id], limit))
