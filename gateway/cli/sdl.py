"""``gateway export-schema`` and ``gateway schema-diff``: the schema as SDL. Neither connects to a store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from gateway.config import Settings


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def _schema_diff(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.cli import schema_diff

    if args.old == args.new == schema_diff.STDIN:
        print("gateway schema-diff: only one of OLD and NEW can be - (stdin)", file=sys.stderr)
        return 2
    try:
        result = schema_diff.diff(
            schema_diff.read_sdl(args.old),
            schema_diff.read_sdl(args.new),
            old_name=schema_diff.label(args.old),
            new_name=schema_diff.label(args.new),
        )
    except schema_diff.SchemaInputError as exc:
        print(f"gateway schema-diff: {exc}", file=sys.stderr)
        return 2
    print(result.json() if args.json else result.text())
    return 1 if result.breaking else 0


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this group's commands to ``gateway`` with ``add_parser`` (that of its subcommands)."""
    export = add_parser("export-schema", help="print the schema as SDL")
    export.set_defaults(run=_export_schema, needs_settings=False)

    sdiff = add_parser("schema-diff", help="breaking (exit 1) and dangerous changes from schema OLD to NEW")
    sdiff.add_argument("old", metavar="OLD", help="SDL file, - for stdin, or code (the schema the code builds now)")
    sdiff.add_argument("new", metavar="NEW", help="SDL file, - for stdin, or code")
    sdiff.add_argument("--json", action="store_true", help='print {"breaking": [...], "dangerous": [...]} instead')
    sdiff.set_defaults(run=_schema_diff, needs_settings=False)
