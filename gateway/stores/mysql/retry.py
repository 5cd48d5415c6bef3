"""The one retry of MySQL work (on tenacity): a deadlock or a lock wait timeout, and the work runs again.

Either error means the transaction was rolled back and nothing was committed, so running the work again in a new
transaction may succeed: up to ``ATTEMPTS`` times in all, after a short random pause that grows with each attempt
(so that the transactions that collided do not collide again at once). Any other error, and the last attempt's,
is raised as it is.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

T = TypeVar("T")
RETRIED_ERRNOS = frozenset({1213, 1205})  # deadlock found; lock wait timeout exceeded
ATTEMPTS = 5


def lock_conflict(exc: BaseException) -> bool:
    """A deadlock or a lock wait timeout."""
    if not isinstance(exc, DBAPIError):
        return False
    args: tuple[Any, ...] = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in RETRIED_ERRNOS


def _pause(state: RetryCallState) -> float:
    """5-20 ms after the first attempt, twice that after the second, and so on."""
    return random.uniform(0.005, 0.02) * state.attempt_number


async def retried(run: Callable[[], Awaitable[T]], *, retry_if: Callable[[BaseException], bool] = lock_conflict) -> T:
    """``run()``'s result, ``run`` called again while it fails with an error ``retry_if`` accepts (by default a
    lock conflict), at most ``ATTEMPTS`` times in all. Each call of ``run`` must begin its own transaction."""
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(ATTEMPTS), wait=_pause, retry=retry_if_exception(retry_if), reraise=True
    ):
        with attempt:
            return await run()
    raise AssertionError("unreachable: tenacity returns the result or raises the error")
