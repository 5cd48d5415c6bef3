"""Custom scalars: Money (exact decimal amounts), plus strawberry's DateTime (ISO 8601) and JSON.

``Money`` travels as a decimal string in major units ("12.99"), never a float, so no client rounds a price.
Inside the gateway it is an int of cents. As input it takes a decimal string or a number with at most two
decimals, not negative.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

Money = NewType("Money", int)  # cents


_MONEY: dict[int, str] = {}  # amounts already written: prices repeat, and a page writes hundreds of them


def serialize_money(cents: int) -> str:
    try:
        return _MONEY[cents]
    except KeyError:
        text = f"{cents // 100}.{cents % 100:02d}"
        if len(_MONEY) < 100_000:
            _MONEY[cents] = text
        return text


def parse_money(value: object) -> Money:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('Money must be a decimal string such as "12.99" or a number')
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"Money must be a decimal amount, got {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"Money must be a finite amount of at least 0, got {value!r}")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"Money has at most two decimals, got {value!r}")
    if cents > 2**53:
        raise ValueError("Money amount too large")
    return Money(int(cents))


SCALARS: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description='An exact amount in major units as a decimal string, e.g. "12.99" (two decimals).',
        serialize=serialize_money,
        parse_value=parse_money,
    )
}
