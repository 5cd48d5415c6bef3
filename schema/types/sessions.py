"""``Query.session``: the request's session (Redis), with the user it was linked to at sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import sessions
from resolvers.info import Info
from resolvers.permissions import owner_or_admin
from resolvers.sessions import SessionRecord

if TYPE_CHECKING:
    from schema.types.users import User


@strawberry.type(
    description="A client's session (X-Session-Id or the session cookie), kept in Redis until sessionTtl seconds "
    "after its last request."
)
class Session:
    record: strawberry.Private[SessionRecord]
    id: strawberry.ID
    device: str | None = strawberry.field(description="X-Device, else what the User-Agent says.")
    created_at: datetime
    last_activity_at: datetime
    expires_at: datetime = strawberry.field(description="When it ends unless another request comes.")

    @classmethod
    def from_record(cls, record: SessionRecord) -> Session:
        return cls(
            record=record,
            id=strawberry.ID(record.id),
            device=record.device,
            created_at=record.created_at,
            last_activity_at=record.last_activity,
            expires_at=record.expires_at,
        )

    @strawberry.field(
        description="The user who signed in with this session (mergeGuestCart); null before. That user or an "
        "admin only."
    )
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.types.users")] | None:
        from schema.types.users import User

        if self.record.user_id is None:
            return None
        owner_or_admin(info, self.record.user_id, "the session's user")
        record = await info.context.loaders.users.load(self.record.user_id)
        return None if record is None else User.from_record(record)


async def current_session(info: Info) -> Session | None:
    record = await sessions.current(info)
    return None if record is None else Session.from_record(record)
