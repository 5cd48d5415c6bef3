"""Breaking and dangerous changes between two GraphQL schemas given as SDL (``gateway schema-diff``).

graphql-core decides what counts. Breaking (``find_breaking_changes``): operations that work against the old
schema may fail against the new one, e.g. a type, field or enum value removed, an argument made non-null, a required
argument added. Dangerous (``find_dangerous_changes``): they still validate but may behave differently, e.g. an
enum value or an optional argument added, a default value changed. Safe changes (additions, descriptions) are not
reported.

A schema is read from a file, from stdin (``-``) or from the code (``code``: what ``gateway export-schema`` prints).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, Source, build_schema, validate_schema
from graphql.utilities import find_breaking_changes, find_dangerous_changes

STDIN = "-"
CODE = "code"


class SchemaInputError(Exception):
    """A schema that cannot be read, or whose SDL does not build a valid schema; the message names its source."""


@dataclass(frozen=True, slots=True)
class Change:
    type: str  # graphql-core's change type, e.g. FIELD_REMOVED, VALUE_ADDED_TO_ENUM
    description: str  # e.g. "Field Query.backends was removed."


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    breaking: tuple[Change, ...]
    dangerous: tuple[Change, ...]

    def text(self) -> str:
        lines = [f"BREAKING  {c.type}  {c.description}" for c in self.breaking]
        lines += [f"DANGEROUS {c.type}  {c.description}" for c in self.dangerous]
        if self.breaking or self.dangerous:
            lines.append(f"{len(self.breaking)} breaking, {len(self.dangerous)} dangerous")
        else:
            lines.append("no breaking or dangerous changes")
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "breaking": [{"type": c.type, "description": c.description} for c in self.breaking],
                "dangerous": [{"type": c.type, "description": c.description} for c in self.dangerous],
            },
            indent=2,
        )


def diff(old_sdl: str, new_sdl: str, *, old_name: str = "old", new_name: str = "new") -> SchemaDiff:
    """What changes from ``old_sdl`` to ``new_sdl``; raises SchemaInputError (naming ``old_name`` or ``new_name``)."""
    old, new = _build(old_sdl, old_name), _build(new_sdl, new_name)
    return SchemaDiff(
        breaking=tuple(Change(c.type.name, c.description) for c in find_breaking_changes(old, new)),
        dangerous=tuple(Change(c.type.name, c.description) for c in find_dangerous_changes(old, new)),
    )


def _build(sdl: str, name: str) -> GraphQLSchema:
    try:
        schema = build_schema(Source(sdl, name))
    except (GraphQLError, TypeError) as exc:  # syntax errors; invalid SDL (unknown or duplicate types) is a TypeError
        raise SchemaInputError(f"{name}: not a valid schema: {exc}") from exc
    errors = validate_schema(schema)
    if errors:
        raise SchemaInputError(f"{name}: not a valid schema: " + "\n".join(str(e) for e in errors))
    return schema


def label(source: str) -> str:
    """How messages name a schema source (a path, ``-`` or ``code``)."""
    return {STDIN: "<stdin>", CODE: "code"}.get(source, source)


def read_sdl(source: str) -> str:
    """The SDL behind a path, ``-`` (stdin) or ``code`` (the schema the code builds now)."""
    if source == CODE:
        from schema import schema  # lazily: only this source needs the schema package and its imports

        return schema.as_str() + "\n"
    try:
        if source == STDIN:
            return sys.stdin.buffer.read().decode("utf-8")
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaInputError(f"{label(source)}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SchemaInputError(f"{label(source)}: cannot read: not UTF-8 ({exc})") from exc
