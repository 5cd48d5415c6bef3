"""The committed schema/schema.graphql is exactly the schema the code builds (clients and CI diff against it)."""

from __future__ import annotations

import difflib

from schema import SNAPSHOT, schema


def test_schema_matches_the_committed_snapshot() -> None:
    code = schema.as_str() + "\n"
    committed = SNAPSHOT.read_text()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), code.splitlines(True), "committed", "code"))
    assert code == committed, (
        f"schema/schema.graphql is out of date:\n{diff}\n"
        "See which changes break clients with: .venv/bin/gateway schema-diff schema/schema.graphql code\n"
        "Update it with: .venv/bin/gateway export-schema > schema/schema.graphql"
    )
