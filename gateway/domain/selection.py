"""A validated product search, as the store modules take it: only typed values, never client JSON.

The schema layer builds it from ``ProductFilter`` after checking every attribute name against the registry, so
an attribute filter reaches MongoDB as ``{"attributes.<registered name>": value | {"$in": [values]}}`` and
nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

AttributeScalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class AttributeCondition:
    name: str  # a registered attribute name (letters, digits, _): never an operator or a dotted path
    values: tuple[AttributeScalar, ...]  # one value: equality; several: $in


@dataclass(frozen=True, slots=True)
class ProductSelection:
    """The MySQL part of a product search; ``ids`` restricts it to what MongoDB's attribute filter matched."""

    category_id: int | None = None
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    year_min: int | None = None
    year_max: int | None = None
    ids: tuple[int, ...] | None = None
    text: str | None = None  # words matched against the title (MySQL FULLTEXT, natural language mode)
