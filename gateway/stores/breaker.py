"""A circuit breaker per store, per process: a store that keeps failing is not asked again until it may be back.

    closed ──(breaker_failures consecutive failures)──▶ open ──(breaker_reset_s later)──▶ half_open
       ▲                                                 ▲                                   │
       └──────────────(the probe succeeds)───────────────┼───────────────────────────────────┤
                                                         └────────(the probe fails)──────────┘

A failure is a ``SourceUnavailable`` or a ``SourceTimeout`` from ``guarded()`` (gateway/stores/guard.py), which
asks the breaker before every call. While open, a call fails at once with ``BreakerOpen`` (SOURCE_UNAVAILABLE,
``extensions.breaker: "open"``) without touching the driver: a hung store costs each request nothing once the
breaker has opened, instead of the store timeout. Half-open lets exactly one call through (the probe; the others
still fail fast): its success closes the breaker, its failure opens it for another ``breaker_reset_s``.

Refused credentials (``SourceAuthFailed``) are not counted: the store answered, and failing fast would only hide
the message that says what to fix. Any answer (even an error of the query itself) counts as the store being up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from gateway.config import SOURCE_NAMES
from gateway.errors import SourceAuthFailed, SourceError, SourceTimeout, SourceUnavailable

log = logging.getLogger("gateway.breaker")

State = Literal["closed", "open", "half_open"]

DEFAULT_FAILURES = 5
DEFAULT_RESET_S = 5.0


class BreakerOpen(SourceUnavailable):
    """Refused without calling the store: its breaker is open (or half-open with its probe in flight)."""

    def __init__(self, source: str, retry_in_s: float) -> None:
        super().__init__(source, f"circuit breaker open, next probe in {max(0.0, retry_in_s):.2f}s")
        self.args = (f"{source} is unavailable (circuit breaker open)",)

    def extensions(self) -> dict[str, Any]:
        return {**super().extensions(), "breaker": "open"}


def counts_as_failure(exc: BaseException) -> bool:
    return isinstance(exc, SourceUnavailable | SourceTimeout) and not isinstance(exc, SourceAuthFailed | BreakerOpen)


class Breaker:
    def __init__(
        self,
        source: str,
        *,
        failures: int = DEFAULT_FAILURES,
        reset_s: float = DEFAULT_RESET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._state: State = "closed"
        self._streak = 0  # consecutive failures while closed
        self._opened_at = 0.0
        self._probing = False  # half-open: the one call let through has not come back yet

    @property
    def state(self) -> State:
        """``half_open`` as soon as the cool-down is over (the next call will be the probe)."""
        if self._state == "open" and self._clock() >= self._opened_at + self.reset_s:
            return "half_open"
        return self._state

    @property
    def streak(self) -> int:
        """Consecutive failures counted while closed (it opens at ``failures``)."""
        return self._streak

    def admit(self) -> bool:
        """Let a call through, or raise ``BreakerOpen``. True when the call is the half-open probe."""
        if self._state == "closed":
            return False
        if self._state == "open":
            retry_in = self._opened_at + self.reset_s - self._clock()
            if retry_in > 0:
                raise BreakerOpen(self.source, retry_in)
            self._state = "half_open"
            log.info("breaker %s: half-open, probing", self.source)
        if self._probing:
            raise BreakerOpen(self.source, 0.0)
        self._probing = True
        return True

    def succeeded(self, probe: bool) -> None:
        self._streak = 0
        if probe:
            self._probing = False
        if self._state != "closed":
            log.warning("breaker %s: closed, the store answers again", self.source)
            self._state = "closed"
            self._probing = False

    def failed(self, probe: bool, error: SourceError) -> None:
        if probe:
            self._probing = False
            self._open(f"the probe failed: {error.detail}")
        elif self._state == "closed":  # a call let in before the breaker opened changes nothing once it has
            self._streak += 1
            if self._streak >= self.failures:
                self._open(f"{self._streak} consecutive failures, the last: {error.detail}")

    def abandoned(self, probe: bool) -> None:
        """The call ended without telling whether the store is up (cancelled, a bug): the next call may probe."""
        if probe:
            self._probing = False

    def close(self) -> None:
        """Closed, with no failure counted, whatever the state was."""
        self._state = "closed"
        self._streak = 0
        self._probing = False

    def _open(self, why: str) -> None:
        self._state = "open"
        self._opened_at = self._clock()
        self._streak = 0
        log.warning("breaker %s: open for %gs (%s)", self.source, self.reset_s, why)


_breakers: dict[tuple[str, str], Breaker] = {}
_config: dict[str, Any] = {"failures": DEFAULT_FAILURES, "reset_s": DEFAULT_RESET_S}
_RANK: dict[State, int] = {"closed": 0, "half_open": 1, "open": 2}


def configure(*, failures: int, reset_s: float) -> None:
    """Thresholds for every breaker of this process (``Sources.create`` passes the settings' values)."""
    _config.update(failures=failures, reset_s=reset_s)
    for breaker in _breakers.values():
        breaker.failures = failures
        breaker.reset_s = reset_s


def for_store(source: str, endpoint: str = "") -> Breaker:
    """The breaker of store ``source`` at ``endpoint`` (host:port): one per server per process, shared by every
    client of that server (a second client configured for another server, as tests make, has its own)."""
    breaker = _breakers.get((source, endpoint))
    if breaker is None:
        breaker = _breakers[(source, endpoint)] = Breaker(source, **_config)
    return breaker


def registry() -> dict[tuple[str, str], Breaker]:
    """Every breaker of this process, by (store, endpoint)."""
    return dict(_breakers)


def reset() -> None:
    """Close every breaker of this process and forget its failures (tests: one case's outage, or a burst that
    overloaded a store, does not fail the next case's calls)."""
    for breaker in _breakers.values():
        breaker.close()


def endpoint_of(url: str) -> str:
    """``host:port`` of a store URL (several hosts for a replica set), without credentials."""
    return urlsplit(url).netloc.rpartition("@")[2]


def breaker_states() -> dict[str, State]:
    """Each store's breaker state ("closed", "open", "half_open"), for the metrics; a store whose name has
    breakers for several servers in this process (tests) shows the worst of them."""
    states: dict[str, State] = dict.fromkeys(SOURCE_NAMES, "closed")
    for (source, _), breaker in sorted(_breakers.items()):
        state = breaker.state
        if source not in states or _RANK[state] > _RANK[states[source]]:
            states[source] = state
    return states
