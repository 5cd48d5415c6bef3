"""``gateway persisted add`` and ``gateway persisted list``: the persisted-operation manifests."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from gateway.config import Settings


def _persisted_add(settings: Settings, args: argparse.Namespace) -> int:
    """Validate a release's manifest (documents parse and validate, sha256 ids match) and copy it into the folder."""
    from gateway.http.manifests import ManifestError, Manifests, manifest_paths, read_manifest, schema_problems
    from schema import schema

    source: Path = args.file
    if not source.is_file():
        print(f"gateway persisted add: no such file: {source}", file=sys.stderr)
        return 2
    folder = settings.persisted_dir
    target = folder / (source.name if source.suffix == ".json" else source.name + ".json")
    try:
        manifest = read_manifest(source)
        problems = schema_problems(manifest, schema._schema)
        if problems:
            raise ManifestError("operations that do not validate against the schema:\n  " + "\n  ".join(problems))
        others = [read_manifest(path) for path in manifest_paths(settings.persisted_manifests, folder)]
        Manifests.of([m for m in others if m.path.resolve() != target.resolve()] + [manifest])
    except ManifestError as exc:
        print(f"gateway persisted add: {exc}", file=sys.stderr)
        return 1
    if target.exists() and target.resolve() != source.resolve():
        if target.read_bytes() != source.read_bytes():
            print(
                f"gateway persisted add: {target} exists with other content: give this release's manifest a name of"
                " its own (older manifests stay, so the app builds that use them keep working)",
                file=sys.stderr,
            )
            return 2
    elif target.resolve() != source.resolve():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    kinds = {kind: sum(1 for op in manifest.operations if op.type == kind) for kind in ("query", "mutation")}
    print(
        f"{target}: {len(manifest.operations)} operations ({kinds['query']} queries, {kinds['mutation']} mutations),"
        f" {manifest.format} format"
    )
    return 0


def _persisted_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.http.manifests import ManifestError, Manifests, manifest_paths

    paths = manifest_paths(settings.persisted_manifests, settings.persisted_dir)
    try:
        manifests = Manifests.load(paths)
    except ManifestError as exc:
        print(f"gateway persisted list: {exc}", file=sys.stderr)
        return 1
    rows = [("MANIFEST", "ID", "NAME", "TYPE")]
    rows += [(op.manifest, op.id, op.name or "(anonymous)", op.type) for op in manifests.operations()]
    if len(rows) == 1:
        print(f"no persisted operations (GATEWAY_PERSISTED_MANIFESTS is empty, no *.json in {settings.persisted_dir})")
        return 0
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]))
    return 0


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this group's commands to ``gateway`` with ``add_parser`` (that of its subcommands)."""
    persisted = add_parser("persisted", help="persisted-operation manifests: add a release's, list them")
    persisted_commands = persisted.add_subparsers(dest="persisted_command", required=True)
    add = persisted_commands.add_parser("add", help="validate a manifest and copy it into GATEWAY_PERSISTED_DIR")
    add.add_argument("file", metavar="FILE", type=Path, help="Apollo's manifest, or a JSON id → document map")
    add.set_defaults(run=_persisted_add)
    listing = persisted_commands.add_parser("list", help="every operation loaded at start: manifest, id, name, type")
    listing.set_defaults(run=_persisted_list)
