"""Opaque pagination cursors (base64url). A cursor that does not decode, or belongs to another query, is a
BAD_USER_INPUT.

- Orders (a user's, newest first) are keyset paged: the cursor holds the last order's (created_at, id), so new
  orders never shift a page.
- Products are offset paged (their sort may come from MongoDB metrics, which have no keyset in MySQL): the
  cursor holds the offset and a fingerprint of the filter and sort it was issued for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime, timedelta

from gateway.errors import BadUserInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, prefix: str) -> list[str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput("invalid cursor") from exc
    parts = text.split(":")
    if len(cursor) > 200 or parts[0] != prefix:
        raise BadUserInput("invalid cursor")
    return parts[1:]


def order_cursor(created_at: datetime, order_id: int) -> str:
    micros = (created_at - EPOCH) // MICROSECOND  # exact: no float in between
    return _encode(f"order:{micros}:{order_id}")


def parse_order_cursor(cursor: str) -> tuple[datetime, int]:
    parts = _decode(cursor, "order")
    if len(parts) != 2 or not all(part.isdecimal() for part in parts):
        raise BadUserInput("invalid cursor")
    moment = EPOCH + int(parts[0]) * MICROSECOND
    return moment, int(parts[1])


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def offset_cursor(offset: int, query: str) -> str:
    return _encode(f"product:{offset}:{query}")


def parse_offset_cursor(cursor: str, query: str) -> int:
    parts = _decode(cursor, "product")
    if len(parts) != 2 or not parts[0].isdecimal():
        raise BadUserInput("invalid cursor")
    if parts[1] != query:
        raise BadUserInput("invalid cursor: it belongs to a products query with another filter or sort")
    return int(parts[0])
