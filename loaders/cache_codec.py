"""What the merged-entity cache holds, and how it is written as JSON and read back into the same records.

A cached product is its MySQL row with its MongoDB document and metrics; a cached user is the row with the
profile; a cached recommendation list is the graph's scored ids. ``row`` None is an id no store knows (cached
briefly). ``VERSION`` is a fingerprint of every cached shape: a deploy that changes a record's fields reads and
writes other keys, never an entry of the old shape; so does one that changes how recommendations are scored.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import orjson

from gateway.domain.records import (
    MetricsRecord,
    ProductDocumentRecord,
    ProductRecord,
    ProfileRecord,
    Scored,
    UserRecord,
)

FORMAT = 1  # bump when the encoding itself changes
# What a cached recommendation list means: bump when the default strategy's scoring changes
# (gateway/stores/neo4j/recommendations.py), so that a deploy reads lists scored the new way instead of serving
# the old ones until they expire. 2: recency-weighted neighbours with popularity discount. 3: at most FANOUT
# other users read per product (gateway/stores/neo4j/reads.py).
RECOMMENDATIONS = 3


@dataclass(frozen=True, slots=True)
class ProductEntity:
    row: ProductRecord | None
    document: ProductDocumentRecord | None
    metrics: MetricsRecord | None


@dataclass(frozen=True, slots=True)
class UserEntity:
    row: UserRecord | None
    profile: ProfileRecord | None


@dataclass(frozen=True, slots=True)
class ScoredList:
    """A graph answer: None when the graph does not know the user."""

    items: tuple[Scored, ...] | None


ENTITIES: dict[str, type[Any]] = {
    "product": ProductEntity,
    "user": UserEntity,
    "recommendations": ScoredList,
    "popular": ScoredList,  # one list (key 0): the best sellers, the longest list a client may ask for
}


def encode(entity: Any) -> bytes:
    return orjson.dumps(entity)


def decode(kind: str, data: bytes) -> Any:
    return _decoder(ENTITIES[kind])(orjson.loads(data))


Decode = Callable[[Any], Any]


_DECODERS: dict[type[Any], Decode] = {}


def _decoder(cls: type[Any]) -> Decode:
    """How to read a ``cls`` back from its JSON: one function compiled once per class from its type hints (a
    generic walk of the hints, or reading them for every value, cost more than the round trip to Redis)."""
    found = _DECODERS.get(cls)
    if found is None:
        names: dict[str, Any] = {"_datetime": datetime.fromisoformat}
        source = f"def decode(data):\n    return {_expression(cls, 'data', names, [0])}\n"
        exec(compile(source, f"<cache decoder {cls.__name__}>", "exec"), names)
        found = _DECODERS[cls] = names["decode"]
    return found


def _expression(hint: Any, value: str, names: dict[str, Any], counter: list[int]) -> str:
    """A Python expression reading the JSON ``value`` (an expression) as ``hint``."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        counter[0] += 1
        name = f"v{counter[0]}"
        return f"(None if ({name} := {value}) is None else {_expression(inner, name, names, counter)})"
    if hint is datetime:
        return f"_datetime({value})"
    if origin is tuple:
        item = get_args(hint)[0]
        if not (isinstance(item, type) and (item is datetime or is_dataclass(item))):
            return f"tuple({value})"
        counter[0] += 1
        name = f"i{counter[0]}"
        return f"tuple([{_expression(item, name, names, counter)} for {name} in {value}])"
    if isinstance(hint, type) and is_dataclass(hint):
        names[hint.__name__] = hint
        counter[0] += 1
        name = f"d{counter[0]}"
        hints = get_type_hints(hint)
        args = ", ".join(_expression(hints[f.name], f"{name}[{f.name!r}]", names, counter) for f in fields(hint))
        return f"({hint.__name__}({args}) if ({name} := {value}) is not None else None)"
    return value


def _shape(cls: type[Any], seen: set[type[Any]]) -> str:
    """The field names and types of ``cls`` and of every record inside it."""
    seen.add(cls)
    hints = get_type_hints(cls)
    parts = [f"{cls.__name__}({', '.join(f'{name}: {hint!r}' for name, hint in hints.items())})"]
    for hint in hints.values():
        for inner in (hint, *get_args(hint), *(a for h in get_args(hint) for a in get_args(h))):
            if isinstance(inner, type) and is_dataclass(inner) and inner not in seen:
                parts.append(_shape(inner, seen))
    return "; ".join(parts)


VERSION = hashlib.sha256(
    f"{FORMAT}|{RECOMMENDATIONS}|{'|'.join(_shape(cls, set()) for cls in ENTITIES.values())}".encode()
).hexdigest()[:12]
