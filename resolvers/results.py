"""Answers computed for many keys at once: one value per key, or the exception that kept it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def one(values: Sequence[T | BaseException]) -> T:
    """The single answer of a ``*_many`` call for one key, raised if it is an exception."""
    (value,) = values
    if isinstance(value, BaseException):
        raise value
    return value
