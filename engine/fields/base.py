"""How the plan executor computes one field: three kinds, chosen per field of the schema (engine/fields/*.py).

    Leaf("s.title")    a value read off the parent's record: inlined into the compiled builder of the
                       selection (no call at all at run time); ``s`` is the parent's record
    Each(fn)           a value computed per parent without I/O, which may refuse (a permission check)
    Batch(fn)          a value fetched for every parent of the plan node at once: ONE call per node and request,
                       which asks the loaders for all the parents' keys in one go

A Leaf gives what the strawberry resolver of the field returns (cents for Money, a datetime for DateTime, the
record's status for an enum): the compiler appends the field's scalar or enum serialisation. ``Each`` and
``Batch`` give resolver values too; an exception in their place (returned by a Batch, raised by an Each) is that
parent's field error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from gateway.context import Context
from loaders.batcher import Batcher
from loaders.registry import Loaders

Args: TypeAlias = Mapping[str, Any]  # the field's arguments, coerced, by their GraphQL names


class Call:
    """What a field implementation gets: the request's context (as strawberry's ``info.context``), so that the
    functions of ``resolvers/`` serve both executors."""

    __slots__ = ("context",)

    def __init__(self, context: Context) -> None:
        self.context = context


@dataclass(frozen=True, slots=True)
class Leaf:
    expr: str


@dataclass(frozen=True, slots=True)
class Each:
    fn: Callable[[Call, Any, Args], Any]


BatchFn: TypeAlias = Callable[[Call, list[Any], Args], Awaitable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Batch:
    """``narrow``, when given, answers the same from fewer stores, and the plan uses it when the selection below
    the field reads none of the fields named in ``wide`` (a product read for its title and price: its MySQL row
    alone, not its merged entity from the cache)."""

    fn: BatchFn
    narrow: BatchFn | None = None
    wide: frozenset[str] = frozenset()


Impl: TypeAlias = Leaf | Each | Batch


def loaded(
    pick: Callable[[Loaders], Batcher[Any, Any]],
    key: Callable[[Any], Any],
    part: Callable[[Any], Any] | None = None,
) -> BatchFn:
    """A field read from one loader, keyed by ``key`` of each parent: the loader's value, or ``part`` of it (a
    missing value stays None, a failed one its exception)."""

    async def field(call: Call, parents: list[Any], args: Args) -> Sequence[Any]:
        values = await pick(call.context.loaders).get_many([key(parent) for parent in parents])
        if part is None:
            return values
        return [v if v is None or isinstance(v, BaseException) else part(v) for v in values]

    return field


def root(fn: Callable[[Call, Args], Awaitable[Any]]) -> Batch:
    """A field of Query: one parent (the root), answered by one resolver call; its exception is its error."""

    async def one(call: Call, parents: list[Any], args: Args) -> list[Any]:
        try:
            return [await fn(call, args)]
        except Exception as exc:
            return [exc]

    return Batch(one)


def refusals(parents: Sequence[Any], check: Callable[[Any], object]) -> list[BaseException | None]:
    """``check`` of each parent: None where it passed, the exception where it refused."""
    refused: list[BaseException | None] = []
    for parent in parents:
        try:
            check(parent)
        except Exception as exc:
            refused.append(exc)
        else:
            refused.append(None)
    return refused
