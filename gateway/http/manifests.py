"""Persisted-operation manifests: the documents a client release may send by hash or id, read once at start.

Two shapes of JSON file are read (``parse_manifest`` tells them apart):

    apollo   {"format": "apollo-persisted-query-manifest", "version": 1,
              "operations": [{"id": <sha256 of body>, "name", "type", "body"}, ...]}
    map      {"<id>": "<document>", ...}: Apollo's plain sha256 → document map, or Relay's doc_id → document.
             A key of 64 hex digits is a sha256 and must be the document's; any other key is an opaque doc_id.

Every operation can be asked for by the sha256 of its document (``extensions.persistedQuery.sha256Hash``) and by
its id (Relay's ``doc_id``; for Apollo's manifest the id is that same sha256). A manifest that is not valid JSON,
has another shape, a document that does not parse, or an id that does not match, is a ``ManifestError``: the
gateway does not start with it. The same id bound to two different documents across manifests is one too. Older
manifests stay beside newer ones, so the operations of old app builds keep working.

Only files are read here; nothing connects. Checking documents against the schema is ``schema_problems``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, parse, validate

APOLLO_FORMAT = "apollo-persisted-query-manifest"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TYPES = ("query", "mutation", "subscription")


class ManifestError(Exception):
    """A manifest that cannot be served; the message names the file and what is wrong."""


def sha256_hex(document: str) -> str:
    """The hex sha256 of a document's UTF-8 bytes, as Apollo clients compute it."""
    return hashlib.sha256(document.encode()).hexdigest()


def is_sha256(text: str) -> bool:
    return bool(_SHA256.match(text))


@dataclass(frozen=True, slots=True)
class Operation:
    manifest: str  # the file's name, for listings and messages
    id: str  # Apollo: the sha256; Relay: the doc_id
    sha256: str  # of ``document``, always computed here
    name: str | None
    type: str  # query, mutation or subscription
    document: str


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    format: str  # "apollo" or "map"
    operations: tuple[Operation, ...]


def _first_operation(document: str, where: str) -> OperationDefinitionNode:
    try:
        node: DocumentNode = parse(document)
    except GraphQLError as exc:
        raise ManifestError(f"{where}: the document does not parse: {exc.message}") from exc
    operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise ManifestError(f"{where}: the document defines no operation")
    return operations[0]


def _apollo(payload: Mapping[str, Any], name: str) -> list[Operation]:
    if payload.get("version") != 1:
        raise ManifestError(f"{name}: version {payload.get('version')!r} of {APOLLO_FORMAT} is not supported (1 is)")
    entries = payload.get("operations")
    if not isinstance(entries, list):
        raise ManifestError(f"{name}: `operations` must be a list")
    found = []
    for index, entry in enumerate(entries):
        where = f"{name}: operations[{index}]"
        if not isinstance(entry, dict):
            raise ManifestError(f"{where} is not an object")
        op_id, op_name, op_type, body = (entry.get(key) for key in ("id", "name", "type", "body"))
        if not isinstance(body, str) or not body.strip():
            raise ManifestError(f"{where}: `body` must be a non-empty string")
        if not isinstance(op_id, str) or op_id != sha256_hex(body):
            raise ManifestError(f"{where}: `id` {op_id!r} is not the sha256 of its body ({sha256_hex(body)})")
        if op_type not in _TYPES:
            raise ManifestError(f"{where}: `type` must be one of {', '.join(_TYPES)}, not {op_type!r}")
        if op_name is not None and not isinstance(op_name, str):
            raise ManifestError(f"{where}: `name` must be a string")
        parsed = _first_operation(body, where)
        if parsed.operation.value != op_type:
            raise ManifestError(
                f"{where}: `type` is {op_type} but the document's operation is a {parsed.operation.value}"
            )
        declared = parsed.name.value if parsed.name else None
        if op_name and op_name != declared:
            raise ManifestError(f"{where}: `name` is {op_name!r} but the document's operation is {declared!r}")
        found.append(Operation(name, op_id, op_id, declared, op_type, body))
    return found


def _map(payload: Mapping[str, Any], name: str) -> list[Operation]:
    found = []
    for op_id, document in payload.items():
        where = f"{name}: {op_id!r}"
        if not op_id.strip():
            raise ManifestError(f"{name}: an empty id")
        if not isinstance(document, str) or not document.strip():
            raise ManifestError(f"{where}: the document must be a non-empty string")
        digest = sha256_hex(document)
        if is_sha256(op_id) and op_id != digest:
            raise ManifestError(f"{where} looks like a sha256 but the document's is {digest}")
        parsed = _first_operation(document, where)
        declared = parsed.name.value if parsed.name else None
        found.append(Operation(name, op_id, digest, declared, parsed.operation.value, document))
    return found


def parse_manifest(text: str | bytes, *, path: Path) -> Manifest:
    """One manifest's operations, every document parsed and every sha256 checked."""
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ManifestError(f"{path}: a manifest is a JSON object (Apollo's manifest, or an id → document map)")
    if "format" in payload:
        if payload["format"] != APOLLO_FORMAT:
            raise ManifestError(f"{path}: unknown manifest format {payload['format']!r} (expected {APOLLO_FORMAT})")
        return Manifest(path, "apollo", tuple(_apollo(payload, path.name)))
    return Manifest(path, "map", tuple(_map(payload, path.name)))


def read_manifest(path: Path) -> Manifest:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    return parse_manifest(text, path=path)


def manifest_paths(listed: Iterable[Path], directory: Path) -> list[Path]:
    """The listed files, then every ``*.json`` in ``directory`` (by name; a missing directory holds none)."""
    paths = list(listed)
    if directory.is_dir():
        paths += sorted(p for p in directory.glob("*.json") if p.is_file() and p not in paths)
    return paths


@dataclass(frozen=True, slots=True)
class Manifests:
    """Every loaded operation, by the sha256 of its document and by its id."""

    manifests: tuple[Manifest, ...] = ()
    by_sha256: Mapping[str, Operation] = field(default_factory=dict)
    by_id: Mapping[str, Operation] = field(default_factory=dict)

    @classmethod
    def of(cls, manifests: Sequence[Manifest]) -> Manifests:
        by_sha256: dict[str, Operation] = {}
        by_id: dict[str, Operation] = {}
        for manifest in manifests:
            for operation in manifest.operations:
                known = by_id.get(operation.id)
                if known is not None and known.document != operation.document:
                    raise ManifestError(
                        f"id {operation.id!r} names different documents in {known.manifest} and {operation.manifest}"
                    )
                by_id.setdefault(operation.id, operation)
                by_sha256.setdefault(operation.sha256, operation)
        return cls(tuple(manifests), by_sha256, by_id)

    @classmethod
    def load(cls, paths: Iterable[Path]) -> Manifests:
        return cls.of([read_manifest(path) for path in paths])

    def operations(self) -> list[Operation]:
        return [operation for manifest in self.manifests for operation in manifest.operations]


def schema_problems(manifest: Manifest, schema: GraphQLSchema) -> list[str]:
    """What does not validate against ``schema``, one line per operation (empty: every operation does)."""
    problems = []
    for operation in manifest.operations:
        errors = validate(schema, parse(operation.document))
        if errors:
            what = "; ".join(error.message for error in errors[:3])
            problems.append(f"{operation.manifest}: {operation.id} ({operation.name or 'anonymous'}): {what}")
    return problems
