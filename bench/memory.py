"""What an entry of each in-process cache really costs, measured with tracemalloc, against what the cache counts.

    .venv/bin/python bench/memory.py [--write]

The caches are bounded by the bytes they count for their entries (docs/hot-path.md); this measures the bytes each
entry really holds (what tracemalloc sees freed when the entries leave), so that the counted bytes are an upper
bound of the real ones:

    responses   gateway/memory/responses.py: N entries of a product page's size with its tags, the tags shared
                by many entries (a product page's) and unique to each (the worst case for the index)
    persisted   gateway/http/persisted.py: N APQ documents
    documents   engine/documents.py: the ~400 documents of the differential corpus (tests/engine/corpus.py), each
                prepared and planned, freed one by one; the estimate is ``engine.documents.footprint``

No server is needed. Prints a table; ``--write`` replaces this bench's section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from markdown import replace_section  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests/engine/corpus.py: the differential corpus

from engine.documents import Documents, footprint  # noqa: E402
from gateway.config import Settings  # noqa: E402
from gateway.http.manifests import Manifests  # noqa: E402
from gateway.http.persisted import APQ_OVERHEAD, PersistedQueries  # noqa: E402
from gateway.memory.responses import ENTRY_OVERHEAD, TAG_OVERHEAD, LocalResponses  # noqa: E402
from schema import schema  # noqa: E402

SECTION = "## Memory: what an entry of each in-process cache costs"
ENTRIES = 20_000
PAGE = {"data": {"product": {"id": "1", "title": "x" * 40, "price": "12.50", "attributes": {}}}}
BODY = orjson.dumps(PAGE)


def traced(build: Callable[[], object]) -> tuple[object, int]:
    """What ``build`` returns, and the bytes it left allocated (tracemalloc, after a full collection)."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    return kept, tracemalloc.get_traced_memory()[0] - before


def responses(shared_tags: bool) -> tuple[int, int]:
    """(bytes counted, bytes held) for ENTRIES responses with 7 tags each."""

    def build() -> LocalResponses:
        cache = LocalResponses(1 << 40, f"bench-{shared_tags}")
        cache.fresh = lambda now: True
        for i in range(ENTRIES):
            identity = orjson.dumps([hashlib.sha256(b"doc").hexdigest(), "ProductPage", {"id": str(i), "n": i}])
            base = 1 if shared_tags else i * 7
            tags = [f"product:{base + k}" for k in range(7)]
            body = orjson.dumps({**PAGE, "n": i})  # a fresh body, as the gateway stores them
            cache.put((identity, 0), body, tags, ttl_s=600, private=False, seen=cache.generation, now=0.0)
        return cache

    cache, held = traced(build)
    assert isinstance(cache, LocalResponses)
    return cache.lru.bytes, held


def persisted() -> tuple[int, int]:
    settings = Settings()

    def build() -> PersistedQueries:
        queries = PersistedQueries(settings, Manifests(), 1 << 40)
        for i in range(ENTRIES):
            document = f"query Page{i}($id: ID!) {{ product(id: $id) {{ id title price rating {{ average }} }} }}"
            queries._remember(hashlib.sha256(document.encode()).hexdigest(), document)
        return queries

    queries, held = traced(build)
    assert isinstance(queries, PersistedQueries)
    assert queries.memory is not None
    return queries.memory.bytes, held


def documents() -> tuple[int, int, list[float]]:
    """(bytes estimated, bytes freed, estimate / freed per document) over the differential corpus."""
    from tests.engine import corpus

    cases = corpus.collected(schema._schema) + corpus.generated(schema._schema, 300)
    texts = list(dict.fromkeys(case.query for case in cases))
    prepared = Documents(schema._schema, Settings(), size=10**6, max_bytes=1 << 40)
    prepared.warm(texts)
    estimated = freed_total = 0
    ratios = []
    for text in texts:
        document = prepared.get(text)
        estimate = footprint(text, len(document.plans))
        del document
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        prepared._kept.pop(text)
        gc.collect()
        freed = before - tracemalloc.get_traced_memory()[0]
        estimated, freed_total = estimated + estimate, freed_total + freed
        ratios.append(estimate / freed)
    return estimated, freed_total, ratios


def report() -> str:
    tracemalloc.start()
    rows = []
    for shared in (True, False):
        counted, held = responses(shared)
        what = "tags shared (one product page's)" if shared else "tags unique to each entry"
        rows.append((f"responses, {ENTRIES:,} of {len(BODY)} B, 7 tags, {what}", counted, held))
    counted, held = persisted()
    rows.append((f"persisted, {ENTRIES:,} APQ documents", counted, held))
    estimated, freed, ratios = documents()
    tracemalloc.stop()
    lines = ["| cache | counted bytes | held bytes (tracemalloc) | held / counted |", "|---|---:|---:|---:|"]
    for name, counted, held in rows:
        lines.append(f"| {name} | {counted:,} | {held:,} | {held / counted:.2f} |")
    lines.append(f"| documents, {len(ratios)} of the corpus, prepared and planned | {estimated:,} | {freed:,} "
                 f"| {freed / estimated:.2f} |")  # fmt: skip
    under = sum(ratio < 1 for ratio in ratios)
    lines += [
        "",
        f"- Counted per entry: responses `len(body) + len(key) + {ENTRY_OVERHEAD}` plus `{TAG_OVERHEAD} + len(tag)` "
        f"per tag; persisted `sys.getsizeof(document) + {APQ_OVERHEAD}`; documents `engine.documents.footprint` "
        "(1,024 + 120 per character, and 4,096 + 100 per character per plan).",
        f"- Documents: the estimate is at least what a document really held for {len(ratios) - under} of "
        f"{len(ratios)} documents (median estimate / held {statistics.median(ratios):.2f}, lowest "
        f"{min(ratios):.2f}); in total the estimate is {estimated / freed:.1f}× what they held.",
        "- Held / counted below 1 everywhere: a cache's byte bound is an upper bound of what its entries hold.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="replace this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    body = report()
    print(body)
    if args.write:
        text = (
            f"`.venv/bin/python bench/memory.py --write` on {datetime.now(UTC):%Y-%m-%d}, Python "
            f"{sys.version.split()[0]}. tracemalloc counts the bytes Python allocated for the entries (after a full "
            "collection), not the allocator's own overhead; the process's RSS under a flood of distinct variables is "
            "in the caches section (bench/cache.py).\n\n" + body
        )
        replace_section(ROOT / "BENCHMARKS.md", SECTION, text)
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
