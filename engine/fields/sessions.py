"""The request's session (a SessionRecord) and a user's recently viewed products (MongoDB events)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Args, Batch, Call, Impl, Leaf, refusals, root
from engine.fields.users import _guarded_batch
from resolvers import events, sessions
from resolvers.permissions import owner_or_admin
from resolvers.sessions import SessionRecord


async def _session(call: Call, args: Args) -> Any:
    return await sessions.current(call)


async def _user(call: Call, parents: list[SessionRecord], args: Args) -> list[Any]:
    linked = [s for s in parents if s.user_id is not None]
    refused = dict(
        zip(
            (id(s) for s in linked),
            refusals(linked, lambda s: owner_or_admin(call, s.user_id, "the session's user")),
            strict=True,
        )
    )
    allowed = [s.user_id for s in linked if s.user_id is not None and refused[id(s)] is None]
    found = dict(zip(allowed, await call.context.loaders.users.get_many(allowed), strict=True)) if allowed else {}
    return [None if s.user_id is None else refused[id(s)] or found[s.user_id] for s in parents]


async def _recently_viewed(call: Call, ids: list[int], args: Args) -> Any:
    return await events.recently_viewed_many(call, ids, args["limit"])


FIELDS: dict[str, Impl] = {
    "Query.session": root(_session),
    "Session.id": Leaf("s.id"),
    "Session.device": Leaf("s.device"),
    "Session.createdAt": Leaf("s.created_at"),
    "Session.lastActivityAt": Leaf("s.last_activity"),
    "Session.expiresAt": Leaf("s.expires_at"),
    "Session.user": Batch(_user),
    "User.recentlyViewed": _guarded_batch("the recently viewed products", _recently_viewed),
}
