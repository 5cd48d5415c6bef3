"""The builder of a selection, compiled once: one Python function that turns a list of parent records into
the response objects of that selection, with every leaf field read and serialised inline.

For ``{ id title price categories { name } }`` on Product it is, in effect::

    def build(sources, c0):
        return [{"id": str(s.id), "title": s.title, "price": money(s.price_cents), "categories": c0[i]}
                for i, s in enumerate(sources)]

where ``c0`` holds the completed values of the field that is not a leaf (one per parent, computed by the runner
before the builder runs). No resolver is called and no coroutine exists per field or per object. The source
text is made only of the leaf expressions of engine/fields (code of this repository) and of response keys, which
validation has checked to be GraphQL names; it is kept on the function (``__source__``) for debugging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLNamedType,
    GraphQLScalarType,
)

from resolvers.cursors import offset_cursor, order_cursor
from schema.scalars import serialize_money

# Names a leaf expression may use (engine/fields): helpers of the repository, nothing else.
HELPERS: dict[str, Any] = {
    "order_cursor": order_cursor,
    "offset_cursor": offset_cursor,
    "money": serialize_money,
}
TRUSTED = frozenset({"String", "Int", "Boolean", "JSON"})  # the records already hold these as JSON values


def _iso(value: datetime) -> str:
    return value.isoformat()


def leaf_expression(expr: str, named: GraphQLNamedType, nullable: bool, scope: dict[str, Any]) -> str:
    """``expr`` serialised as ``named`` (None stays None when the field is nullable)."""
    name = named.name
    if name in TRUSTED:
        return f"({expr})"
    if named is GraphQLID:
        call = "str"
    elif name == "Money":
        call = "money"
    elif name == "Float":
        call = "float"
    elif name == "DateTime":
        call = "_iso"
        scope["_iso"] = _iso
    elif isinstance(named, GraphQLEnumType):
        call = f"_enum_{name}.__getitem__"
        scope[f"_enum_{name}"] = enum_names(named)
    elif isinstance(named, GraphQLScalarType):
        call = f"_serialize_{name}"
        scope[call] = named.serialize
    else:
        raise TypeError(f"{name} is not a leaf type")
    if nullable:
        return f"(None if (v := {expr}) is None else {call}(v))"
    return f"{call}({expr})"


def enum_names(enum: GraphQLEnumType) -> dict[Any, str]:
    """What a resolver may return for each value of ``enum`` (its internal value, or the Python enum member and
    its value) → the value's name."""
    names: dict[Any, str] = {}
    for name, value in enum.values.items():
        names[value.value] = name
        if isinstance(value.value, Enum):
            names[value.value.value] = name
    return names


def builder(
    keys: Sequence[str], inline: dict[str, str], columns: Sequence[str], scope: dict[str, Any]
) -> Callable[..., list[Any]]:
    """A function ``build(sources, c0, c1, …)`` → one dict per source, keys in ``keys`` order: ``inline[key]`` is
    the expression of a leaf (over ``s``, the source), the others are read from their column ``c{j}[i]``."""
    for key in keys:
        if not key.isidentifier():
            raise ValueError(f"not a GraphQL name: {key!r}")
    entries = []
    for key in keys:
        value = inline[key] if key in inline else f"c{columns.index(key)}[i]"
        entries.append(f"{key!r}: {value}")
    body = "{" + ", ".join(entries) + "}"
    if columns:
        params = ", ".join(f"c{j}" for j in range(len(columns)))
        source = f"def build(sources, {params}):\n    return [{body} for i, s in enumerate(sources)]\n"
    else:
        source = f"def build(sources):\n    return [{body} for s in sources]\n"
    namespace: dict[str, Any] = {**HELPERS, **scope}
    exec(compile(source, "<engine builder>", "exec"), namespace)
    build: Callable[..., list[Any]] = namespace["build"]
    build.__source__ = source  # type: ignore[attr-defined]
    return build
