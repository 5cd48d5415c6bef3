"""Sessions in Redis: one hash per session id, expiring ``session_ttl_s`` after its last request (a sliding TTL).

    session:{id}    device, user_id (once linked at sign-in), created_at, last_activity (ISO 8601, UTC)

A request that carries a session id (``X-Session-Id`` or the session cookie) *touches* it: the touch is kept in
this process's memory and a background task writes every touched session at most every
``events_flush_interval_s``, in one pipeline (``HSETNX created_at``, ``HSET last_activity device``, ``EXPIRE``).
So a read never waits for Redis because of its session, and Redis being down costs only the touches of that
time (the sessions' TTLs slide a little less). At most ``events_buffer_size`` distinct sessions wait; touches of
further ones are dropped until the next write. Linking a user (at sign-in: ``mergeGuestCart``) and reading a
session (``Query.session``) are requests to Redis of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource

log = logging.getLogger("gateway.sessions")

MAX_BACKOFF_S = 5.0


def key(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    device: str | None
    user_id: int | None
    created_at: datetime
    last_activity: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class SessionTracker:
    """The touches of this process's requests, written in the background (``RedisSource.sessions``)."""

    def __init__(self, source: RedisSource, settings: Settings) -> None:
        self.source = source
        self.ttl_s = settings.session_ttl_s
        self.interval = settings.events_flush_interval_s
        self.capacity = settings.events_buffer_size
        self._touched: dict[str, tuple[str | None, datetime]] = {}  # id → (device, last activity)
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._touched)

    def touch(self, session_id: str, device: str | None) -> None:
        """Remember this request's activity; never raises, never waits."""
        if self._closed or (session_id not in self._touched and len(self._touched) >= self.capacity):
            return
        self._touched[session_id] = (device, _now())
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._task = loop.create_task(self._run(), name="session-tracker", context=contextvars.Context())

    async def _run(self) -> None:
        failures = 0
        while True:
            await asyncio.sleep(min(self.interval * 2**failures, MAX_BACKOFF_S))
            failures = 0 if await self.flush() else failures + 1

    async def flush(self, only: str | None = None) -> bool:
        """Write the touched sessions (or only the session ``only``); False when Redis failed (they stay)."""
        if only is not None:
            if only not in self._touched:
                return True
            batch = {only: self._touched.pop(only)}
        else:
            batch, self._touched = self._touched, {}
        if not batch:
            return True
        pipe = self.source.client.pipeline(transaction=False)
        for session_id, (device, at) in batch.items():
            name = key(session_id)
            pipe.hsetnx(name, "created_at", at.isoformat())
            pipe.hset(name, mapping={"last_activity": at.isoformat(), **({"device": device} if device else {})})
            pipe.expire(name, self.ttl_s)
        try:
            await guarded(
                self.source, self.source.timeout, pipe.execute(), DRIVER_ERRORS, operation="sessions_touch", keys=()
            )
        except (SourceError, asyncio.CancelledError) as exc:
            for session_id, touch in batch.items():  # back, unless touched again meanwhile
                self._touched.setdefault(session_id, touch)
            if isinstance(exc, asyncio.CancelledError):  # stopped mid-write (close): written again by close
                raise
            log.warning("sessions: %d touches wait, Redis failed: %s (%s)", len(self._touched), exc, exc.detail)
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), self.source.timeout * 2)


async def read(source: RedisSource, session_id: str) -> Session | None:
    """The session as Redis holds it; None when it has expired or never was."""
    found = await guarded(
        source, source.timeout, source.client.hgetall(key(session_id)), DRIVER_ERRORS, operation="session_read"
    )
    if not found:
        return None
    fields = {_text(k): _text(v) for k, v in found.items()}
    created = datetime.fromisoformat(fields["created_at"]) if "created_at" in fields else _now()
    user_id = fields.get("user_id")
    return Session(
        id=session_id,
        device=fields.get("device"),
        user_id=int(user_id) if user_id is not None else None,
        created_at=created,
        last_activity=datetime.fromisoformat(fields.get("last_activity", created.isoformat())),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def link_user(source: RedisSource, session_id: str, user_id: int, ttl_s: int) -> None:
    """The session's user, from sign-in on (the session is created now when it was not yet)."""
    at = _now().isoformat()
    pipe = source.client.pipeline(transaction=True)
    pipe.hsetnx(key(session_id), "created_at", at)
    pipe.hset(key(session_id), mapping={"user_id": str(user_id), "last_activity": at})
    pipe.expire(key(session_id), ttl_s)
    await guarded(source, source.timeout, pipe.execute(), DRIVER_ERRORS, operation="session_link", keys=[session_id])
