"""Limits checked before execution, each refusal a QUERY_TOO_COMPLEX error (the document is never executed).

Before parsing: the document's size in bytes, its token count, and how deeply its brackets nest, all read with
graphql-core's lexer (flat, no recursion), so no document can reach the parser's recursion limit. After
parsing: the selection depth, the number of aliases, and a cost. Introspection can be turned off.

Cost: every field costs 1 (or ``FIELD_COSTS``), and what a list field selects is multiplied by its size: the
``first`` / ``limit`` argument (its value, its variable's value, or its default), handed down to the lists of a
connection; otherwise ``ASSUMED_LIST_SIZE``. Introspection fields (``__schema``, ``__type``) are bounded by the
schema and not counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    Lexer,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gateway.config import Settings

CODE = "QUERY_TOO_COMPLEX"
ASSUMED_LIST_SIZE = 10
SIZE_ARGUMENTS = ("first", "limit")
FIELD_COSTS = {  # fields that cost a graph traversal or a search, relative to a key lookup
    ("Query", "products"): 5,
    ("Query", "recommendations"): 10,
    ("Query", "popularProducts"): 5,
    ("User", "recommendations"): 10,
    ("User", "similarUsers"): 10,
    ("Product", "boughtTogether"): 10,
}
_OPENING = {TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L}
_CLOSING = {TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R}


def too_complex(message: str, limit: int, actual: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": CODE, "limit": limit, "actual": actual})


def lexical_errors(query: str, settings: Settings) -> list[GraphQLError]:
    """Size, tokens and bracket nesting, before any parsing. A syntax error is left to the parser."""
    size = len(query.encode())
    if size > settings.max_query_bytes:
        return [
            too_complex(
                f"the document is {size} bytes, over {settings.max_query_bytes}", settings.max_query_bytes, size
            )
        ]
    nesting_limit = settings.max_depth + 20  # selections plus input objects and lists in arguments
    lexer = Lexer(Source(query))
    tokens = nesting = deepest = 0
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            tokens += 1
            if tokens > settings.max_tokens:
                return [too_complex(f"the document has over {settings.max_tokens} tokens", settings.max_tokens, tokens)]
            if token.kind in _OPENING:
                nesting += 1
                deepest = max(deepest, nesting)
                if nesting > nesting_limit:
                    return [too_complex(f"brackets nest over {nesting_limit} deep", nesting_limit, nesting)]
            elif token.kind in _CLOSING:
                nesting -= 1
            token = lexer.advance()
    except GraphQLError:
        return []  # a syntax error: the parser reports it with its position
    return []


class _Walk:
    """Depth and cost of one operation, fragments expanded (a fragment cycle is cut, validation reports it)."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def _fields(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLObjectType, frozenset[str]]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent, seen
            elif isinstance(selection, InlineFragmentNode):
                inner = self._type(selection.type_condition.name.value) if selection.type_condition else parent
                yield from self._fields(selection.selection_set, inner or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    inner = self._type(fragment.type_condition.name.value) or parent
                    yield from self._fields(fragment.selection_set, inner, seen | {name})

    def _type(self, name: str) -> GraphQLObjectType | None:
        found = self.schema.get_type(name)
        return found if isinstance(found, GraphQLObjectType) else None

    def _size(self, node: FieldNode, defaults: Mapping[str, Any]) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value in SIZE_ARGUMENTS:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return max(int(value.value), 0)
                if isinstance(value, VariableNode):
                    given = self.variables.get(value.name.value)
                    return max(given, 0) if isinstance(given, int) else ASSUMED_LIST_SIZE
        for name in SIZE_ARGUMENTS:
            if isinstance(defaults.get(name), int):
                return int(defaults[name])
        return None

    def measure(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType,
        page: int | None = None,
        seen: frozenset[str] = frozenset(),
    ) -> tuple[int, int]:
        """(depth, cost) of a selection set; ``page`` is the size handed down by a connection's argument."""
        depth = cost = 0
        for node, owner, path in self._fields(selection_set, parent, seen):
            name = node.name.value
            definition = owner.fields.get(name)
            if name.startswith("__") or definition is None:
                continue
            defaults = {arg: spec.default_value for arg, spec in definition.args.items()}
            size = self._size(node, defaults)
            nullable = get_nullable_type(definition.type)
            multiplier = 1
            if is_list_type(nullable):
                multiplier = size if size is not None else (page if page is not None else ASSUMED_LIST_SIZE)
            child_depth = child_cost = 0
            named = get_named_type(definition.type)
            if node.selection_set is not None and isinstance(named, GraphQLObjectType):
                handed = size if size is not None and not is_list_type(nullable) else None
                child_depth, child_cost = self.measure(node.selection_set, named, handed, path)
            depth = max(depth, 1 + child_depth)
            cost += FIELD_COSTS.get((owner.name, name), 1) + multiplier * child_cost
        return depth, cost


def structural_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    settings: Settings,
) -> list[GraphQLError]:
    return measured(schema, document, operation_name, variables, settings)[0]


def measured(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    settings: Settings,
) -> tuple[list[GraphQLError], int]:
    """The structural limits' refusals, and the operation's cost (what rate limits charge; 0 when refused for its
    aliases, before the cost is worked out)."""
    aliases = sum(1 for node in _all_fields(document) if node.alias is not None)
    if aliases > settings.max_aliases:
        message = f"the document has {aliases} aliases, over {settings.max_aliases}"
        return [too_complex(message, settings.max_aliases, aliases)], 0
    walk = _Walk(schema, document, variables)
    total = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is not None and (definition.name is None or definition.name.value != operation_name):
            continue
        root = schema.get_root_type(definition.operation)
        if root is None:
            continue
        depth, cost = walk.measure(definition.selection_set, root)
        total = max(total, cost)
        if depth > settings.max_depth:
            message = f"the query is {depth} levels deep, over {settings.max_depth}"
            return [too_complex(message, settings.max_depth, depth)], cost
        if cost > settings.max_cost:
            message = f"the query costs {cost}, over {settings.max_cost}: ask for smaller pages"
            return [too_complex(message, settings.max_cost, cost)], cost
    return [], total


def _all_fields(document: DocumentNode) -> Iterator[FieldNode]:
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            yield node
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)


class Limits(SchemaExtension):
    def _settings(self) -> Settings | None:
        settings = getattr(self.execution_context.context, "settings", None)
        return settings if isinstance(settings, Settings) else None

    def on_parse(self) -> Iterator[None]:
        settings = self._settings()
        query = self.execution_context.query
        if settings is not None and query is not None:
            errors = lexical_errors(query, settings)
            if errors:
                raise errors[0]
        yield

    def on_validate(self) -> Iterator[None]:
        settings = self._settings()
        document = self.execution_context.graphql_document
        if settings is not None and document is not None:
            if not settings.introspection:
                self.execution_context.validation_rules = (
                    *self.execution_context.validation_rules,
                    NoSchemaIntrospectionCustomRule,
                )
            errors, cost = measured(
                self.execution_context.schema._schema,
                document,
                self.execution_context.operation_name,
                self.execution_context.variables or {},
                settings,
            )
            context = self.execution_context.context
            if hasattr(context, "cost"):
                context.cost = cost  # what the request's rate limit is charged (gateway/http/rate_limits.py)
            if errors:
                self.execution_context.pre_execution_errors = errors  # validation is skipped: nothing runs
        yield
