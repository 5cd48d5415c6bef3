"""updateProfile: the viewer's preferences, checked against the catalogue's categories (MySQL), then written to
MongoDB, which owns them, in one update of one document (no outbox: nothing else derives from them).

Every check runs before the write, so input that fails one writes nothing; a MongoDB that fails the write (down,
timed out) answers its SOURCE_UNAVAILABLE or TIMEOUT, and a single-document update is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.domain.preferences import CATEGORY_IDS, GENRES, MAX_CATEGORIES, MAX_GENRES
from gateway.errors import BadUserInput, NotFound
from gateway.stores.mongo import writes as mongo_writes
from gateway.stores.mongo.documents import UserProfile, parse
from resolvers.arguments import parse_id
from resolvers.freshness import forget
from resolvers.info import Resolving
from resolvers.permissions import signed_in


async def update_preferences(info: Resolving, genres: Sequence[str] | None, category_ids: Sequence[str] | None) -> int:
    """Replace the lists given (``[]`` empties one; one not given is kept); answers the viewer's id."""
    viewer = signed_in(info)
    if genres is None and category_ids is None:
        raise BadUserInput("preferences: give genres, categoryIds or both")
    if genres is not None and len(genres) > MAX_GENRES:
        raise BadUserInput(f"preferences.genres: at most {MAX_GENRES}, got {len(genres)}")
    if category_ids is not None and len(category_ids) > MAX_CATEGORIES:
        raise BadUserInput(f"preferences.categoryIds: at most {MAX_CATEGORIES}, got {len(category_ids)}")
    ids = None if category_ids is None else list(dict.fromkeys(parse_id(c, "categoryId") for c in category_ids))
    loaders = info.context.loaders
    if await loaders.users.load(viewer.user_id) is None:
        raise NotFound(f"user {viewer.user_id} not found")
    tree = await loaders.category_tree.load("all")
    values: dict[str, list[str]] = {}
    if genres is not None:
        by_name = {category.name.casefold(): category.name for category in tree}
        unknown = [g for g in genres if g.strip().casefold() not in by_name]
        if unknown:
            raise BadUserInput(f"preferences.genres: unknown genres {', '.join(repr(g[:64]) for g in unknown[:5])}")
        values[GENRES] = list(dict.fromkeys(by_name[g.strip().casefold()] for g in genres))
    if ids is not None:
        known = {category.id for category in tree}
        missing = [c for c in ids if c not in known]
        if missing:
            raise BadUserInput(f"preferences.categoryIds: unknown categories {', '.join(map(str, missing[:5]))}")
        values[CATEGORY_IDS] = [str(c) for c in ids]
    parse(UserProfile, {"_id": viewer.user_id, "preferences": values})  # the document's own rules
    settings = info.context.settings
    await mongo_writes.set_preferences(info.context.sources.mongodb, settings.write_timeout_s, viewer.user_id, values)
    await forget(info, profiles=[viewer.user_id])  # the cached user (with its profile), and responses that read it
    return viewer.user_id
