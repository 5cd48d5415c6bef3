"""Recommendation lists weighed by their users' preferences (gateway/domain/preferences.py has the formula).

What it reads: the profiles (MongoDB, through the user entity cache) and the pool's categories (MySQL: the
products' categories in one batch, and the category tree for their ancestors). Only the weighing needs them: a
profile that cannot be read (MongoDB down) leaves its user's list as the strategy ranked it, and so do categories
that cannot be read; the list itself is never failed by them. Explain shows the store that failed, and such an
answer is never stored in the response cache (it has no error, but it is not the answer the stores would give).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from gateway.domain.preferences import Preferences
from gateway.domain.records import CategoryRecord, ProfileRecord, Scored
from resolvers.info import Resolving

log = logging.getLogger("gateway.resolvers")


async def weighed(info: Resolving, user_ids: Sequence[int], answers: Sequence[Any], limit: int) -> list[Any]:
    """Each answer (a list of scored products, best first, or an exception) weighed by its user's preferences and
    cut to ``limit``."""
    out = list(answers)
    lists = [i for i, answer in enumerate(answers) if isinstance(answer, list) and answer]
    preferences = await _preferences(info, [user_ids[i] for i in lists])
    wanted = [(i, p) for i, p in zip(lists, preferences, strict=True) if p]
    if wanted:
        pool = sorted({s.id for i, _ in wanted for s in answers[i]})
        found = await _categories(info, pool)
        if found is not None:
            categories, labels = found
            for i, preference in wanted:
                out[i] = _ranked(answers[i], preference, categories, labels)
    return [answer[:limit] if isinstance(answer, list) else answer for answer in out]


Categories = dict[int, tuple[set[str], set[int]]]  # product id -> names and ids of its categories and ancestors


def _ranked(
    scored: list[Scored], preferences: Preferences, categories: Categories, labels: dict[int, str]
) -> list[Scored]:
    weighed: list[tuple[float, int, Scored]] = []
    for rank, item in enumerate(scored):
        names, ids = categories.get(item.id, (set(), set()))
        matched = preferences.matched(names, ids, labels)
        if matched:
            score = item.score * preferences.weight(len(matched))
            item = Scored(item.id, score, f"{item.reason}; matches your preferences ({', '.join(matched)})")
        weighed.append((-item.score, rank, item))
    weighed.sort(key=lambda entry: (entry[0], entry[1]))  # ties keep the strategy's order
    return [item for _, _, item in weighed]


async def _preferences(info: Resolving, user_ids: list[int]) -> list[Preferences | None]:
    if not user_ids:
        return []
    profiles = await info.context.loaders.profiles.get_many(user_ids)
    out: list[Preferences | None] = []
    for user_id, profile in zip(user_ids, profiles, strict=True):
        if isinstance(profile, BaseException):
            log.info("recommendations of user %s not weighed: profile unavailable (%s)", user_id, profile)
            info.context.uncacheable = True  # an unweighed answer is not stored for the response cache
            out.append(None)
        elif isinstance(profile, ProfileRecord):
            found = Preferences.stored(profile.preferences)
            out.append(found if len(found) else None)
        else:
            out.append(None)
    return out


async def _categories(info: Resolving, product_ids: list[int]) -> tuple[Categories, dict[int, str]] | None:
    """Per product, the names and ids of its categories and their ancestors, and every category's name; None when
    MySQL cannot say."""
    loaders = info.context.loaders
    direct, (tree,) = await asyncio.gather(
        loaders.categories_by_product.get_many(product_ids), loaders.category_tree.get_many(["all"])
    )
    if isinstance(tree, BaseException) or any(isinstance(d, BaseException) for d in direct):
        log.info("recommendations not weighed: categories unavailable")
        info.context.uncacheable = True
        return None
    parent = {c.id: c.parent_id for c in tree}
    name = {c.id: c.name for c in tree}
    out: Categories = {}
    for product_id, own in zip(product_ids, direct, strict=True):
        ids: set[int] = set()
        for category in own if isinstance(own, list) else ():
            _climb(category, parent, ids)
        out[product_id] = ({name[c] for c in ids if c in name}, ids)
    return out, name


def _climb(category: CategoryRecord, parent: dict[int, int | None], ids: set[int]) -> None:
    current: int | None = category.id
    while current is not None and current not in ids:
        ids.add(current)
        current = parent.get(current)
