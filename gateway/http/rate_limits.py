"""Rate limits: a token bucket per client in Redis, charged by each request's cost, checked at no round trip.

Who is charged: a signed-in viewer's bucket (``user:<id>`` or ``admin:<id>``, at that role's rates); a guest's session
(``session:<id>``), else its address (``guest:<address>``), at the guest's rates, and every guest request also
to its address's bucket (``address:<address>``, at the address's rates), so minting session ids does not reset a
guest's limit. What is charged: the query's cost as the limits compute it (schema/extensions/limits.py), at least
1; an answer from a cache costs what the query costs (a client is limited by what it asks, not by where the answer
came from).

How, cheaply: the request path never waits for Redis. Each process keeps, per bucket, the tokens Redis last
answered, when, and the charges made since (``_State``). A request is refused (429, ``Retry-After``) when that
estimate, refilled to now, is below zero; otherwise it runs, and its charge is added to the pending ones. One
background task (``run``) sends the pending charges of every bucket to Redis in one script call at a time, at most
every ``FLUSH_EVERY_S``, and takes each bucket's answer as its new estimate: every process sees the charges of all
the others at its next answer for that bucket (within FLUSH_EVERY_S and a round trip), and refuses from then on.
Requests of one client in one process are counted at once (the pending charges): a single process needs no answer
from Redis to stop a client.

While Redis cannot be reached: each process goes on alone. The charges are applied to its own estimates (the same
buckets, in memory), so every client stays limited, per process instead of across the deployment (with N workers a
client may get up to N times its rate); ``gateway_rate_limit_local_total`` counts the charges applied so, and the
log says when it starts and ends. When Redis answers again its buckets take over.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from gateway.auth import Viewer
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.observability.metrics import observe_rate_limit_local, observe_rate_limited
from gateway.stores import Sources
from gateway.stores.redis.rate_limits import Buckets, Charge

log = logging.getLogger("gateway.rate_limits")

CODE = "RATE_LIMITED"
MAX_KEYS_PER_CALL = 500  # buckets charged in one script call
FLUSH_EVERY_S = 0.02  # the pending charges go to Redis at most this often (50 script calls a second per process)
PRUNE_EVERY_S = 10.0  # how often buckets full again, with nothing pending, are forgotten


@dataclass(frozen=True, slots=True)
class Limit:
    role: str  # guest, address, user, admin: the metric's label
    burst: int
    per_s: float


@dataclass(slots=True)
class _State:
    limit: Limit
    tokens: float  # as last known (Redis's answer, or the local charge while Redis is down)
    at: float  # time.monotonic() of that
    pending: float = 0.0  # charged since, not yet sent
    sending: float = 0.0  # in the script call under way


Bucket = tuple[str, Limit]  # (its Redis key, its limit)


def limits_of(settings: Settings) -> dict[str, Limit | None]:
    """Each role's limit, None when its burst is 0 (off)."""
    limits: dict[str, Limit | None] = {}
    for role in ("guest", "address", "user", "admin"):
        burst = getattr(settings, f"rate_limit_{role}_burst")
        limits[role] = Limit(role, burst, getattr(settings, f"rate_limit_{role}_per_s")) if burst > 0 else None
    return limits


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit
        self.limits = limits_of(settings)
        self.prefix = f"{settings.cache_namespace}:{settings.mysql_database}:rl:"
        self.states: dict[str, _State] = {}
        self.wake = asyncio.Event()
        self.local = False  # Redis could not be reached at the last call
        self._pruned = time.monotonic()

    def buckets(self, viewer: Viewer | None, session_id: str | None, address: str | None) -> tuple[Bucket, ...]:
        """The buckets a request is charged to (none when limits are off for its client)."""
        if not self.enabled:
            return ()
        prefix = self.prefix
        if viewer is not None:
            role = "admin" if viewer.is_admin else "user"
            limit = self.limits[role]
            return () if limit is None else ((f"{prefix}{role}:{viewer.user_id}", limit),)
        found: list[Bucket] = []
        guest, per_address = self.limits["guest"], self.limits["address"]
        where = address or "unknown"
        if guest is not None:
            found.append((f"{prefix}session:{session_id}" if session_id else f"{prefix}guest:{where}", guest))
        if per_address is not None:
            found.append((f"{prefix}address:{where}", per_address))
        return tuple(found)

    def refused(self, buckets: tuple[Bucket, ...], now: float) -> tuple[int, str] | None:
        """(seconds to wait, the role whose limit refused) when a bucket is in debt; None to go ahead."""
        for key, limit in buckets:
            state = self.states.get(key)
            if state is None:
                continue
            tokens = _refilled(state, now) - state.pending - state.sending
            if tokens < 0:
                observe_rate_limited(limit.role)
                return max(1, math.ceil(-tokens / limit.per_s)), limit.role
        return None

    def charge(self, buckets: tuple[Bucket, ...], cost: int) -> None:
        """Count a request's cost against its buckets; sent to Redis by ``run``."""
        if not buckets:
            return
        now = time.monotonic()
        for key, limit in buckets:
            state = self.states.get(key)
            if state is None:
                state = self.states[key] = _State(limit, float(limit.burst), now)
            state.pending += max(cost, 1)
        self.wake.set()

    async def run(self, sources: Sources) -> None:
        """Send the pending charges, one script call at a time, until cancelled (the app's lifespan runs it)."""
        store = Buckets(sources.redis)
        while True:
            await self.wake.wait()
            self.wake.clear()
            started = time.monotonic()
            await self.flush(store)
            # At most one call per FLUSH_EVERY_S: under load, a call carries the charges of many requests.
            await asyncio.sleep(max(0.0, started + FLUSH_EVERY_S - time.monotonic()))

    async def flush(self, store: Buckets) -> None:
        due = [(key, state) for key, state in self.states.items() if state.pending > 0]
        for start in range(0, len(due), MAX_KEYS_PER_CALL):
            await self._send(store, due[start : start + MAX_KEYS_PER_CALL])
        now = time.monotonic()
        if now - self._pruned > PRUNE_EVERY_S:
            self._prune(now)

    async def _send(self, store: Buckets, due: list[tuple[str, _State]]) -> None:
        charges: list[Charge] = []
        for key, state in due:
            limit = state.limit
            state.sending, state.pending = state.pending, 0.0
            charges.append(Charge(key, limit.burst, limit.per_s, state.sending))
        try:
            answers = await store.charge(charges)
        except SourceError as exc:
            now = time.monotonic()
            for _, state in due:
                state.tokens = max(_refilled(state, now) - state.sending, -float(state.limit.burst))
                state.at, state.sending = now, 0.0
            observe_rate_limit_local(len(charges))
            if not self.local:
                log.warning("rate limits applied in this process alone, Redis unreachable: %s", exc.detail)
                self.local = True
            return
        now = time.monotonic()
        for (_, state), tokens in zip(due, answers, strict=True):
            state.tokens, state.at, state.sending = tokens, now, 0.0
        if self.local:
            log.warning("rate limits shared through Redis again")
            self.local = False

    def _prune(self, now: float) -> None:
        """Forget the buckets that are full again and have nothing under way: memory stays bounded by the clients
        of the last moments."""
        self._pruned = now
        full = [
            key
            for key, state in self.states.items()
            if state.pending == 0 and state.sending == 0 and _refilled(state, now) >= state.limit.burst
        ]
        for key in full:
            del self.states[key]


def _refilled(state: _State, now: float) -> float:
    limit = state.limit
    return min(float(limit.burst), state.tokens + (now - state.at) * limit.per_s)
