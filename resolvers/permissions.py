"""Who may read what. A user reads their own private data; ``admin`` reads everyone's; public fields are open.

A guest asking for private data gets UNAUTHENTICATED (sign in first: the response is a 401); a signed-in user
asking for someone else's gets FORBIDDEN on that field only (partial data, 200).
"""

from __future__ import annotations

from gateway.auth import Viewer
from gateway.errors import Forbidden, Unauthenticated
from resolvers.info import Resolving


def signed_in(info: Resolving) -> Viewer:
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated("sign in to read this field: send Authorization: Bearer <token>")
    info.context.private = True  # what follows is this viewer's: never a shared cached response
    return viewer


def owner_or_admin(info: Resolving, user_id: int, what: str) -> Viewer:
    viewer = signed_in(info)
    if viewer.user_id != user_id and not viewer.is_admin:
        raise Forbidden(f"{what} of another user is private")
    return viewer
