"""The current session (Redis ``session:{id}``, gateway/stores/redis/sessions.py) and its link to a user, made at
sign-in: when a signed-in client merges its guest cart (``mergeGuestCart``), its session becomes the user's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.errors import SourceError
from gateway.stores.redis import sessions as redis_sessions
from resolvers.info import Resolving

log = logging.getLogger("gateway.sessions")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    device: str | None
    user_id: int | None
    created_at: datetime
    last_activity: datetime
    expires_at: datetime


async def current(info: Resolving) -> SessionRecord | None:
    """The request's session (X-Session-Id or the cookie), this request's activity included; None without one."""
    context = info.context
    session_id = context.session_id
    if session_id is None:
        return None
    context.private = True  # whoever holds the id: never a shared cached answer
    redis = context.sources.redis
    await redis.sessions.flush(only=session_id)  # this request's touch first (best effort: read anyway)
    found = await redis_sessions.read(redis, session_id)
    if found is None:
        return None
    ttl = timedelta(seconds=context.settings.session_ttl_s)
    return SessionRecord(
        found.id, found.device, found.user_id, found.created_at, found.last_activity, found.last_activity + ttl
    )


async def link(info: Resolving, user_id: int) -> None:
    """Link the request's session to the user who signed in with it; a failure is logged, not the caller's."""
    context = info.context
    if context.session_id is None:
        return
    try:
        await redis_sessions.link_user(
            context.sources.redis, context.session_id, user_id, context.settings.session_ttl_s
        )
    except SourceError as exc:
        log.warning("session %s not linked to user %s: %s (%s)", context.session_id, user_id, exc, exc.detail)
