"""MySQL write transactions: ``transaction()`` runs one unit of work in one transaction, retried on deadlock and
lock wait timeout; ``now()`` is the naive UTC time the tables store."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.stores.guard import guarded
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource

T = TypeVar("T")
RETRIED_ERRNOS = {1213, 1205}  # deadlock found; lock wait timeout exceeded
ATTEMPTS = 5


def _errno(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def transaction(
    source: MySQLSource,
    timeout: float,
    operation: str,
    keys: Sequence[Any],
    work: Callable[[AsyncConnection], Awaitable[T]],
) -> T:
    """Run ``work`` in one transaction; retried on deadlock and lock wait timeout, a gateway error rolls back."""

    async def run() -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with source.engine.begin() as conn:
                    return await work(conn)
            except DBAPIError as exc:
                if _errno(exc) not in RETRIED_ERRNOS or attempt == ATTEMPTS:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")

    return await guarded(source, timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)
