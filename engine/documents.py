"""Query documents, prepared once: the limits read before parsing, the parse, validation against the strawberry
schema, and the plans compiled for them.

A document is kept by its text in an LRU bounded in count (``GATEWAY_PLAN_CACHE_SIZE``) and in bytes (its share of
``GATEWAY_MEMORY_CACHE_BYTES``, docs/hot-path.md); its plans by (operation name, values of the variables its
``@skip`` / ``@include`` read). What depends on a request's variable values is not cached: the cost limit (the
sizes of lists come from variables) and the variables' coercion.

A document's bytes are estimated from its text's length (``footprint``): what tracemalloc measured freed when a
prepared document and its plans left the cache (bench/memory.py), for the ~400 documents of the differential
corpus, was at most the estimate for 99% of them, and half of it in total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
)
from graphql.execution.values import VariableValues
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.schema import validate_document

from engine.plan import Plan, Unplannable, compile_plan, directive_variables
from gateway.config import Settings, memory_shares
from gateway.memory.lru import ByteLRU
from gateway.observability.metrics import MemoryCache
from schema.extensions.limits import lexical_errors

NO_VARIABLES = VariableValues({}, {})

# Bytes of a prepared document (the parsed nodes, validation's leftovers) and of each plan compiled for it (its
# nodes, builders' code), per character of the text and beyond it. Measured: about 500 + 81 per character for the
# document and 4,200 + 48 per character for a plan (medians of fits over the corpus); rounded up to bound most.
DOCUMENT_BYTES, DOCUMENT_BYTES_PER_CHAR = 1024, 120
PLAN_BYTES, PLAN_BYTES_PER_CHAR = 4096, 100


def footprint(text: str, plans: int) -> int:
    """The estimated bytes of a prepared document of this text with this many plans."""
    length = len(text)
    return DOCUMENT_BYTES + DOCUMENT_BYTES_PER_CHAR * length + plans * (PLAN_BYTES + PLAN_BYTES_PER_CHAR * length)


@dataclass(slots=True, eq=False)
class Document:
    text: str
    node: DocumentNode | None  # None: refused before or at parsing (``errors``)
    errors: tuple[GraphQLError, ...] = ()  # the limits read before parsing, or the syntax error
    invalid: tuple[GraphQLError, ...] = ()  # validation errors
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    switches: tuple[str, ...] = ()  # the variables @skip / @include read
    plans: dict[tuple[Any, ...], Plan | Unplannable] = field(default_factory=dict)
    max_ages: dict[tuple[str | None, float], float] = field(default_factory=dict)  # the response cache's TTLs

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run: the one named ``name``, else the first (as strawberry picks it)."""
        assert self.node is not None
        for definition in self.node.definitions:
            if isinstance(definition, OperationDefinitionNode) and (
                name is None or (definition.name is not None and definition.name.value == name)
            ):
                return definition
        return None

    def plan(
        self, schema: GraphQLSchema, operation: OperationDefinitionNode, variables: VariableValues
    ) -> tuple[Plan | Unplannable, bool]:
        """The plan of ``operation`` for these variables' @skip / @include values, and whether it was compiled
        before (compiled on first use, then kept with the document)."""
        name = operation.name.value if operation.name else None
        key = (name, *(variables.coerced.get(v) for v in self.switches))
        found = self.plans.get(key)
        if found is not None:
            return found, True
        try:
            found = compile_plan(schema, operation, self.fragments, variables)
        except Unplannable as reason:
            found = reason
        self.plans[key] = found
        return found, False


class Documents:
    """The prepared documents of this process, at most ``size`` of them and ``max_bytes`` by their estimated
    footprint (least recently used go first)."""

    def __init__(self, schema: GraphQLSchema, settings: Settings, size: int, max_bytes: int | None = None) -> None:
        self.schema = schema
        self.settings = settings
        self.size = size
        self.rules = (*specified_rules,) + (() if settings.introspection else (NoSchemaIntrospectionCustomRule,))
        # A document estimated larger than a quarter of the budget is prepared for its request and not kept.
        budget = max_bytes if max_bytes is not None else memory_shares(settings).documents
        self._kept: ByteLRU[str, Document] = ByteLRU(budget, max_entry_bytes=budget // 4)

    @property
    def bytes(self) -> int:
        return self._kept.bytes

    def stats(self) -> MemoryCache:
        return MemoryCache(self._kept.bytes, len(self._kept), self._kept.capacity)

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, text: str) -> bool:
        return text in self._kept

    def warm(self, texts: Iterable[str]) -> int:
        """Prepare these documents now and compile the plans of their queries that no @skip / @include variable
        decides (the persisted manifests' operations, at start): their first requests find them ready. Returns
        the plans compiled."""
        compiled = 0
        for text in texts:
            document = self.get(text)
            if document.node is None or document.invalid or document.switches:
                continue
            for definition in document.node.definitions:
                if isinstance(definition, OperationDefinitionNode) and definition.operation is OperationType.QUERY:
                    plan, _ = self.plan(document, definition, NO_VARIABLES)
                    compiled += isinstance(plan, Plan)
        return compiled

    def get(self, text: str) -> Document:
        found = self._kept.get(text)
        if found is not None:
            return found
        prepared = self._prepare(text)
        self._keep(prepared)
        return prepared

    def plan(
        self, document: Document, operation: OperationDefinitionNode, variables: VariableValues
    ) -> tuple[Plan | Unplannable, bool]:
        """``document.plan``; a plan compiled now counts in the document's bytes."""
        found, cached = document.plan(self.schema, operation, variables)
        if not cached and document.text in self._kept:
            self._keep(document)
        return found, cached

    def _keep(self, document: Document) -> None:
        self._kept.put(document.text, document, footprint(document.text, len(document.plans)))
        while len(self._kept) > self.size:
            self._kept.pop(self._kept.oldest())

    def _prepare(self, text: str) -> Document:
        refused = lexical_errors(text, self.settings)
        if refused:
            return Document(text, None, errors=tuple(refused))
        try:
            node = parse(text)
        except GraphQLError as error:
            return Document(text, None, errors=(error,))
        invalid = validate_document(self.schema, node, self.rules)
        fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
        return Document(
            text, node, invalid=tuple(invalid), fragments=fragments, switches=directive_variables(node.definitions)
        )
