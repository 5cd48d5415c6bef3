"""updateProfile: the viewer's preferences, in MongoDB (resolvers/profiles.py)."""

from __future__ import annotations

import strawberry

from resolvers import lookup, profiles
from resolvers.info import Info
from schema.types.users import User


@strawberry.input(description="A list given replaces the stored one ([] empties it); a list not given is kept.")
class PreferencesInput:
    genres: list[str] | None = strawberry.field(
        default=None,
        description="Genre names: a category's name, e.g. Drama (any case; stored as the category spells it). At "
        "most 10.",
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="At most 10.")


@strawberry.type
class ProfileMutations:
    @strawberry.mutation(
        description="Set the viewer's preferences (MongoDB, which owns them), checked against the categories "
        "first: an unknown genre or category is BAD_USER_INPUT and nothing is written; MongoDB failing is "
        "SOURCE_UNAVAILABLE or TIMEOUT (source mongodb), with nothing written. recommendations(usePreferences: "
        "true) weighs by them."
    )
    async def update_profile(self, info: Info, preferences: PreferencesInput) -> User:
        genres = None if preferences.genres is None else list(preferences.genres)
        ids = None if preferences.category_ids is None else [str(c) for c in preferences.category_ids]
        user_id = await profiles.update_preferences(info, genres, ids)
        return User.from_record(await lookup.user(info, str(user_id)))
