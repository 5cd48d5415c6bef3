"""User (a UserRecord) and UserProfile (a ProfileRecord). Private fields are checked per parent: a refusal is
that parent's field error, the other parents are answered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf, refusals
from gateway.domain.records import UserRecord
from resolvers import carts, graph, orders
from resolvers.permissions import owner_or_admin


def _private(what: str, read: Callable[[UserRecord], Any]) -> Each:
    def field(call: Call, user: UserRecord, args: Args) -> Any:
        owner_or_admin(call, user.id, what)
        return read(user)

    return Each(field)


def allowed(call: Call, users: Sequence[UserRecord], what: str) -> tuple[list[BaseException | None], list[int]]:
    """Who may read ``what`` of each user: the refusals (None where allowed) and the allowed users' ids."""
    refused = refusals(users, lambda user: owner_or_admin(call, user.id, what))
    return refused, [user.id for user, no in zip(users, refused, strict=True) if no is None]


def merged(refused: Sequence[BaseException | None], answers: Sequence[Any]) -> list[Any]:
    """The refusals, with the answers of the allowed parents in the gaps, in order."""
    got = iter(answers)
    return [no if no is not None else next(got) for no in refused]


def _guarded_batch(what: str, fetch: Callable[[Call, list[int], Args], Any]) -> Batch:
    """A private field fetched for the allowed users at once; a failure of the fetch itself (bad arguments)
    is every allowed user's error."""

    async def field(call: Call, users: list[UserRecord], args: Args) -> list[Any]:
        refused, ids = allowed(call, users, what)
        if not ids:
            return list(refused)
        try:
            answers = await fetch(call, ids, args)
        except Exception as exc:
            answers = [exc] * len(ids)
        return merged(refused, answers)

    return Batch(field)


async def _profiles(call: Call, ids: list[int], args: Args) -> Any:
    return await call.context.loaders.profiles.get_many(ids)


async def _orders(call: Call, ids: list[int], args: Args) -> Any:
    return await orders.pages(call, ids, args["first"], args["after"])


async def _carts(call: Call, ids: list[int], args: Args) -> list[Any]:
    answers: list[Any] = []
    for user_id in ids:  # rare (a user's own cart): one at a time, each a Redis read or a snapshot restore
        try:
            answers.append(await carts.user_cart(call, user_id))
        except Exception as exc:
            answers.append(exc)
    return answers


async def _recommendations(call: Call, ids: list[int], args: Args) -> Any:
    return await graph.recommendations_many(call, ids, wanted(args))


def wanted(args: Args) -> graph.Wanted:
    """The arguments of ``recommendations`` (on Query and User) as graphql-core coerced them."""
    return graph.Wanted(args["limit"], args["strategy"].strategy, args["categoryId"], args["usePreferences"])


async def _similar(call: Call, ids: list[int], args: Args) -> Any:
    return await graph.similar_users_many(call, ids, args["limit"])


FIELDS: dict[str, Impl] = {
    "User.id": Leaf("s.id"),
    "User.name": Leaf("s.name"),
    "User.createdAt": Leaf("s.created_at"),
    "User.email": _private("the email", lambda u: u.email),
    "User.age": _private("the age", lambda u: u.age),
    "User.gender": _private("the gender", lambda u: u.gender),
    "User.occupation": _private("the occupation", lambda u: u.occupation),
    "User.zipCode": _private("the zip code", lambda u: u.zip_code),
    "User.profile": _guarded_batch("the profile", _profiles),
    "User.orders": _guarded_batch("the orders", _orders),
    "User.cart": _guarded_batch("the cart", _carts),
    "User.recommendations": _guarded_batch("the recommendations", _recommendations),
    "User.similarUsers": _guarded_batch("the similar users", _similar),
    "UserProfile.favoriteGenres": Leaf("list(s.preferences.get('genres', []))"),
    "UserProfile.preferences": Leaf("s.preferences"),
    "UserProfile.stats": Leaf("s.stats"),
}
