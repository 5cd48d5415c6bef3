"""Compiling a validated query into a plan: per selection, the fields in response order, each with how it is
computed (engine/fields), its arguments, its type's shape, and the selection below it; leaves go into the
selection's compiled builder (engine/codegen.py).

Fragments are expanded and fields of the same response key merged, as graphql-core's ``collect_fields`` does.
``@skip`` / ``@include`` are decided at compile time: a plan is made for one set of their values (the plan cache
keys plans by them, engine/documents.py). Arguments that hold no variable are coerced here, once; the others
once per request and field of the plan (never per object).

An operation this executor cannot run raises ``Unplannable``: mutations, subscriptions, introspection
(``__schema``, ``__type``) and any field missing from engine/fields. It then runs on the strawberry executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values

from engine import codegen
from engine.fields import FIELDS
from engine.fields.base import Batch, Each, Impl, Leaf

TYPENAME = "__typename"
INTROSPECTION = frozenset({"__schema", "__type"})


class Unplannable(Exception):
    """This operation runs on the strawberry executor; the message says why (explain, metrics)."""


@dataclass(slots=True, eq=False)
class FieldPlan:
    key: str  # the response key (the alias, else the name)
    parent: str  # the parent type's name
    nodes: tuple[FieldNode, ...]
    definition: GraphQLField
    impl: Impl
    static_args: Mapping[str, Any] | None  # None: the arguments hold variables, coerced per request
    nullable: bool
    is_list: bool
    item_nullable: bool
    serialize: Any  # the named leaf type's serialize, for Each and Batch leaves
    child: SelectionPlan | None

    def args(self, variables: VariableValues | None) -> Mapping[str, Any]:
        if self.static_args is not None:
            return self.static_args
        return get_argument_values(self.definition, self.nodes[0], variables)

    def describe(self) -> str:
        return f"{self.parent}.{self.nodes[0].name.value}"


@dataclass(slots=True, eq=False)
class SelectionPlan:
    type_name: str
    keys: tuple[str, ...]  # response keys, in order
    columns: tuple[FieldPlan, ...]  # the fields computed by the runner (Each, Batch), in order
    build: Any  # engine/codegen.builder
    names: frozenset[str] = frozenset()  # the fields it reads (their names, not keys)
    children: dict[str, SelectionPlan] = field(default_factory=dict)  # by response key, for error paths

    def rank(self, key: str) -> int:
        return self.keys.index(key)


@dataclass(frozen=True, slots=True)
class Plan:
    root: SelectionPlan
    fields: int  # fields in the plan (its size, for metrics and explain)


def compile_plan(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues | None,
) -> Plan:
    if operation.operation is not OperationType.QUERY:
        raise Unplannable(f"{operation.operation.value}s run on the strawberry executor")
    root_type = schema.query_type
    if root_type is None:
        raise Unplannable("the schema has no query type")
    compiler = _Compiler(schema, fragments, variables)
    root = compiler.selection(root_type, [operation.selection_set])
    return Plan(root, compiler.count)


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.count = 0

    def selection(self, parent: GraphQLObjectType, sets: Iterable[SelectionSetNode]) -> SelectionPlan:
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in sets:
            self._collect(parent, selection_set, grouped, visited)
        inline: dict[str, str] = {}
        scope: dict[str, Any] = {}
        columns: list[FieldPlan] = []
        children: dict[str, SelectionPlan] = {}
        for key, nodes in grouped.items():
            self.count += 1
            name = nodes[0].name.value
            if name == TYPENAME:
                inline[key] = repr(parent.name)
                continue
            if name in INTROSPECTION:
                raise Unplannable("introspection runs on the strawberry executor")
            planned = self._field(parent, key, nodes)
            if isinstance(planned, str):
                inline[key] = codegen.leaf_expression(
                    planned, get_named_type(parent.fields[name].type), _nullable(parent.fields[name]), scope
                )
                continue
            columns.append(planned)
            if planned.child is not None:
                children[key] = planned.child
        keys = tuple(grouped)
        build = codegen.builder(keys, inline, [f.key for f in columns], scope)
        names = frozenset(nodes[0].name.value for nodes in grouped.values())
        return SelectionPlan(parent.name, keys, tuple(columns), build, names, children)

    def _field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldPlan | str:
        """The plan of a computed field, or the expression of a leaf read off the record."""
        name = nodes[0].name.value
        definition = parent.fields[name]
        impl = FIELDS.get(f"{parent.name}.{name}")
        if impl is None:
            raise Unplannable(f"no plan for {parent.name}.{name}")
        named = get_named_type(definition.type)
        if isinstance(impl, Leaf):
            if not is_leaf_type(named) or definition.args:
                raise TypeError(f"{parent.name}.{name}: a Leaf must be a leaf field without arguments")
            return impl.expr
        outer = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
        is_list = isinstance(outer, GraphQLList)
        item = outer.of_type if is_list else outer
        child = None
        if isinstance(named, GraphQLObjectType):
            child = self.selection(named, [n.selection_set for n in nodes if n.selection_set is not None])
        if isinstance(impl, Batch) and impl.narrow is not None and child is not None and not child.names & impl.wide:
            impl = Batch(impl.narrow)
        static = None if _has_variables(nodes[0].arguments) else get_argument_values(definition, nodes[0], None)
        if isinstance(impl, Each) and definition.args:
            raise TypeError(f"{parent.name}.{name}: arguments need a Batch")
        return FieldPlan(
            key=key,
            parent=parent.name,
            nodes=tuple(nodes),
            definition=definition,
            impl=impl,
            static_args=static,
            nullable=_nullable(definition),
            is_list=is_list,
            item_nullable=not isinstance(item, GraphQLNonNull),
            serialize=named.serialize if is_leaf_type(named) else None,
            child=child,
        )

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """graphql-core's collect_fields for an object type (this schema has no interface or union: a fragment's
        type condition, validated, is the parent type itself)."""
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if _applies(selection.type_condition, parent):
                    self._collect(parent, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is not None and _applies(fragment.type_condition, parent):
                    self._collect(parent, fragment.selection_set, grouped, visited)

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode | Any) -> bool:
        if not node.directives:
            return True
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include["if"] is False)


def _applies(condition: Any, parent: GraphQLObjectType) -> bool:
    return condition is None or condition.name.value == parent.name


def _nullable(definition: GraphQLField) -> bool:
    return not isinstance(definition.type, GraphQLNonNull)


def _has_variables(arguments: Iterable[ArgumentNode] | None) -> bool:
    return any(_value_has_variables(argument.value) for argument in arguments or ())


def _value_has_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_value_has_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_value_has_variables(f.value) for f in value.fields)
    return False


def directive_variables(document_nodes: Iterable[Any]) -> tuple[str, ...]:
    """The variables that ``@skip`` / ``@include`` read anywhere in these nodes: a plan depends on their values."""
    names: set[str] = set()
    stack = list(document_nodes)
    while stack:
        node = stack.pop()
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in ("skip", "include"):
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return tuple(sorted(names))
