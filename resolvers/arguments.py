"""Checks of client-supplied arguments: ids, page sizes and limits. Each failure is a BAD_USER_INPUT."""

from __future__ import annotations

from gateway.errors import BadUserInput
from loaders.keys import MAX_TOP

MAX_ID = 2**63 - 1
MAX_LIMIT = MAX_TOP  # graph answers (recommendations, similar users, bought together, popular)


def parse_id(value: str, what: str = "id") -> int:
    """A shared key: a positive decimal integer that fits a BIGINT."""
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 19 or not 0 < int(text) <= MAX_ID:
        raise BadUserInput(f"{what} must be a positive integer id, got {str(value)[:40]!r}")
    return int(text)


def page_size(first: int, maximum: int) -> int:
    if not 0 <= first <= maximum:
        raise BadUserInput(f"first must be between 0 and {maximum}, got {first}")
    return first


def top_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadUserInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit
