"""Running a plan: level by level, each field of a selection computed once for all its parents.

A selection runs with the list of its parents' records. Each computed field (a column) is asked for all of them
at once (a Batch: one call, whose loaders send one batch per store), the columns of one selection concurrently;
the records a column answers are the parents of its own selection, run the same way. Then the selection's
compiled builder writes every parent's object from its record and the columns. So a page of 100 orders with
420 lines costs one call per field of the plan, not one per field and object.

Errors follow graphql-core: a failed field is null with its error at its path; a null (failed or not) in a
non-null position makes its parent null in turn, up to the nearest nullable position (``Nulled`` carries the
error that caused it up). The errors of a subtree nulled that way are reported as graphql-core reports them when
fields resolve in document order: those before the cause in document order stay, those after it are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError, located_error
from graphql.execution.values import VariableValues

from engine.fields.base import Batch, Call, Each
from engine.plan import FieldPlan, Plan, SelectionPlan
from gateway.context import Context


class Nulled:
    """A null that must go up to the nearest nullable position; ``cause`` is the index of its error."""

    __slots__ = ("cause",)

    def __init__(self, cause: int) -> None:
        self.cause = cause


class Where:
    """The path of each parent of a selection, computed only when an error needs it."""

    __slots__ = ("key", "owners", "parent", "slots")

    def __init__(self, parent: Where | None, key: str, owners: list[int], slots: list[int] | None) -> None:
        self.parent = parent
        self.key = key
        self.owners = owners
        self.slots = slots

    def path(self, index: int) -> list[str | int]:
        if self.parent is None:
            return []
        path = self.parent.path(self.owners[index])
        path.append(self.key)
        if self.slots is not None:
            path.append(self.slots[index])
        return path


ROOT = Where(None, "", [], None)


class Run:
    """One execution of a plan for one request."""

    __slots__ = ("call", "errors", "landed", "variables")

    def __init__(self, context: Context, variables: VariableValues | None) -> None:
        self.call = Call(context)
        self.variables = variables
        self.errors: list[GraphQLError] = []
        self.landed: list[tuple[list[str | int], int]] = []  # (nullable position, cause) of each propagated null

    async def execute(self, plan: Plan) -> dict[str, Any] | None:
        (data,), dead = await self.selection(plan.root, [None], ROOT)
        if dead:
            self.landed.append(([], dead[0].cause))
            data = None
        if self.landed:
            self.errors = _in_document_order(self.errors, self.landed, plan.root)
        result: dict[str, Any] | None = data
        return result

    # ---------------------------------------------------------------- selections and columns

    async def selection(
        self, plan: SelectionPlan, sources: list[Any], where: Where
    ) -> tuple[list[Any], dict[int, Nulled]]:
        """One object per source (or a Nulled), and which sources were nulled."""
        columns = plan.columns
        if not columns:
            return plan.build(sources), {}
        if len(columns) == 1:
            done = [await self.column(columns[0], sources, where)]
        else:
            done = await asyncio.gather(*(self.column(f, sources, where) for f in columns))
        objects = plan.build(sources, *(values for values, _ in done))
        dead: dict[int, Nulled] = {}
        for _, nulled in done:
            for index, marker in nulled.items():
                dead.setdefault(index, marker)  # the first field in document order is the cause
        for index, marker in dead.items():
            objects[index] = marker
        return objects, dead

    async def column(self, field: FieldPlan, parents: list[Any], where: Where) -> tuple[list[Any], dict[int, Nulled]]:
        impl = field.impl
        try:
            args = field.args(self.variables)
            if isinstance(impl, Batch):
                raw = list(await impl.fn(self.call, parents, args))
            elif isinstance(impl, Each):
                raw = []
                for parent in parents:
                    try:
                        raw.append(impl.fn(self.call, parent, args))
                    except Exception as exc:
                        raw.append(exc)
            else:
                raise TypeError(f"{field.describe()}: a leaf is built inline, not computed")
        except Exception as exc:  # the field failed as a whole: every parent's error
            raw = [exc] * len(parents)
        if field.child is None:
            return self._leaves(field, raw, where)
        return await self._objects(field, raw, where)

    def _leaves(self, field: FieldPlan, raw: list[Any], where: Where) -> tuple[list[Any], dict[int, Nulled]]:
        out: list[Any] = []
        nulled: dict[int, Nulled] = {}
        serialize = field.serialize
        for index, value in enumerate(raw):
            if value is None or isinstance(value, BaseException):
                out.append(self._null(field, where, index, value, nulled))
                continue
            try:
                if field.is_list:
                    out.append(self._leaf_list(field, where, index, value, serialize, nulled))
                else:
                    out.append(serialize(value))
            except Exception as exc:
                out.append(self._null(field, where, index, exc, nulled))
        return out, nulled

    def _leaf_list(
        self,
        field: FieldPlan,
        where: Where,
        index: int,
        values: Sequence[Any],
        serialize: Any,
        nulled: dict[int, Nulled],
    ) -> Any:
        items: list[Any] = []
        for slot, value in enumerate(values):
            if value is None:
                if not field.item_nullable:
                    cause = self._fail(field, [*where.path(index), field.key, slot], _null_error(field))
                    if field.nullable:
                        self.landed.append(([*where.path(index), field.key], cause))
                        return None
                    nulled[index] = Nulled(cause)
                    return nulled[index]
                items.append(None)
            else:
                items.append(serialize(value))
        return items

    async def _objects(self, field: FieldPlan, raw: list[Any], where: Where) -> tuple[list[Any], dict[int, Nulled]]:
        out: list[Any] = [None] * len(raw)
        nulled: dict[int, Nulled] = {}
        children: list[Any] = []
        owners: list[int] = []
        slots: list[int] | None = [] if field.is_list else None
        lists: list[tuple[int, list[int | None]]] = []  # a list parent and, per item, its child (None: a null item)
        for index, value in enumerate(raw):
            if value is None or isinstance(value, BaseException):
                out[index] = self._null(field, where, index, value, nulled)
            elif slots is None:
                children.append(value)
                owners.append(index)
            else:
                start = len(children)
                if None in value:
                    layout: list[int | None] = []
                    for slot, item in enumerate(value):
                        if item is None:
                            layout.append(None)
                            continue
                        layout.append(len(children))
                        children.append(item)
                        owners.append(index)
                        slots.append(slot)
                    lists.append((index, layout))
                else:
                    children.extend(value)
                    owners.extend([index] * len(value))
                    slots.extend(range(len(value)))
                    lists.append((index, list(range(start, len(children)))))
        if not children:
            for index, layout in lists:
                out[index] = self._items(field, where, index, layout, [], {}, nulled)
            return out, nulled
        assert field.child is not None
        sub = Where(where, field.key, owners, slots)
        results, dead = await self.selection(field.child, children, sub)
        if slots is None:
            for k, result in enumerate(results):
                out[owners[k]] = result
            for k, marker in dead.items():
                out[owners[k]] = self._land(field, where, owners[k], marker, nulled)
            return out, nulled
        for index, layout in lists:
            out[index] = self._items(field, where, index, layout, results, dead, nulled)
        return out, nulled

    def _items(
        self,
        field: FieldPlan,
        where: Where,
        index: int,
        layout: list[int | None],
        results: list[Any],
        dead: dict[int, Nulled],
        nulled: dict[int, Nulled],
    ) -> Any:
        """The list of parent ``index``: its items' objects, with the nulls its item type allows."""
        if not dead and None not in layout:
            return results[layout[0] : layout[-1] + 1] if layout else []  # type: ignore[operator]  # no None
        items: list[Any] = []
        for slot, k in enumerate(layout):
            marker = dead.get(k) if k is not None else None
            if k is not None and marker is None:
                items.append(results[k])
                continue
            path = [*where.path(index), field.key, slot]
            if marker is None:  # a null item
                if field.item_nullable:
                    items.append(None)
                    continue
                marker = Nulled(self._fail(field, path, _null_error(field)))
            if not field.item_nullable:
                return self._land(field, where, index, marker, nulled)
            self.landed.append((path, marker.cause))
            items.append(None)
        return items

    # ---------------------------------------------------------------- nulls and errors

    def _null(self, field: FieldPlan, where: Where, index: int, value: Any, nulled: dict[int, Nulled]) -> Any:
        """A field that answered None or failed: None (with its error, if any), or Nulled when it must not be null."""
        if isinstance(value, BaseException):
            cause = self._fail(field, [*where.path(index), field.key], value)
        elif field.nullable:
            return None
        else:
            cause = self._fail(field, [*where.path(index), field.key], _null_error(field))
        if field.nullable:
            return None
        marker = nulled[index] = Nulled(cause)
        return marker

    def _land(self, field: FieldPlan, where: Where, index: int, marker: Nulled, nulled: dict[int, Nulled]) -> Any:
        """A null coming up from below reaches this field of parent ``index``: it stops here if it may be null."""
        if field.nullable:
            self.landed.append(([*where.path(index), field.key], marker.cause))
            return None
        nulled[index] = marker
        return marker

    def _fail(self, field: FieldPlan, path: list[str | int], error: BaseException) -> int:
        if not isinstance(error, Exception):  # a BaseException a batch answered with: not one to locate as is
            error = RuntimeError(repr(error))
        self.errors.append(located_error(error, list(field.nodes), path))
        return len(self.errors) - 1


def _null_error(field: FieldPlan) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {field.describe()}.")


def _in_document_order(
    errors: list[GraphQLError], landed: list[tuple[list[str | int], int]], root: SelectionPlan
) -> list[GraphQLError]:
    """Drop the errors that graphql-core would not report: those under a position nulled by propagation that come
    after the error that nulled it, in document order."""
    order = [_document_order(error.path or [], root) for error in errors]
    dropped: set[int] = set()
    for position, cause in landed:
        depth = len(position)
        for index, error in enumerate(errors):
            path = error.path or []
            if index != cause and len(path) > depth and path[:depth] == position and order[index] > order[cause]:
                dropped.add(index)
    return [error for index, error in enumerate(errors) if index not in dropped]


def _document_order(path: Sequence[str | int], root: SelectionPlan) -> tuple[int, ...]:
    ranks: list[int] = []
    plan: SelectionPlan | None = root
    for part in path:
        if isinstance(part, int):
            ranks.append(part)
        elif plan is not None and part in plan.keys:
            ranks.append(plan.rank(part))
            plan = plan.children.get(part)
        else:
            ranks.append(0)
    return tuple(ranks)
