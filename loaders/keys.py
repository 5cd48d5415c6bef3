"""Keys of the loaders whose lookups carry arguments: the shared key first, then what shapes the answer."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from gateway.domain.strategies import DEFAULT_STRATEGY, Strategy

MAX_TOP = 100  # the longest graph answer a client may ask for; a cached recommendation list holds this many


class OrderPageKey(NamedTuple):
    """A user's orders, newest first: ``limit`` of them, strictly older than the keyset ``before``."""

    user_id: int
    limit: int
    before: tuple[datetime, int] | None = None


class TopKey(NamedTuple):
    """The best ``limit`` graph results for one user or product."""

    id: int
    limit: int


class RecommendationKey(NamedTuple):
    """A user's best ``limit`` recommendations by ``strategy``, in ``category`` (and its subcategories) when
    given (gateway/stores/neo4j/recommendations.py). Only the default strategy's list without a category is
    cached (one list per user); the preferences weigh a list after it is read, so they are no part of the key."""

    id: int
    limit: int
    strategy: Strategy = DEFAULT_STRATEGY
    category: int | None = None
