"""Query documents, prepared once: the limits read before parsing, the parse, validation against the strawberry
schema, and the plans compiled for them.

A document is kept by its text (a bounded LRU); its plans by (operation name, values of the variables its
``@skip`` / ``@include`` read). What depends on a request's variable values is not cached: the cost limit (the
sizes of lists come from variables) and the variables' coercion.
"""

from __future__ import annotations

from collections import OrderedDict
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
from gateway.config import Settings
from schema.extensions.limits import lexical_errors

NO_VARIABLES = VariableValues({}, {})


@dataclass(slots=True, eq=False)
class Document:
    text: str
    node: DocumentNode | None  # None: refused before or at parsing (``errors``)
    errors: tuple[GraphQLError, ...] = ()  # the limits read before parsing, or the syntax error
    invalid: tuple[GraphQLError, ...] = ()  # validation errors
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    switches: tuple[str, ...] = ()  # the variables @skip / @include read
    plans: dict[tuple[Any, ...], Plan | Unplannable] = field(default_factory=dict)

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
    """The prepared documents of this process, at most ``size`` of them (least recently used go first)."""

    def __init__(self, schema: GraphQLSchema, settings: Settings, size: int) -> None:
        self.schema = schema
        self.settings = settings
        self.size = size
        self.rules = (*specified_rules,) + (() if settings.introspection else (NoSchemaIntrospectionCustomRule,))
        self._kept: OrderedDict[str, Document] = OrderedDict()

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
                    plan, _ = document.plan(self.schema, definition, NO_VARIABLES)
                    compiled += isinstance(plan, Plan)
        return compiled

    def get(self, text: str) -> Document:
        found = self._kept.get(text)
        if found is not None:
            self._kept.move_to_end(text)
            return found
        prepared = self._kept[text] = self._prepare(text)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return prepared

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
