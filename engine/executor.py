"""The one entry point for GraphQL operations over HTTP: queries run as compiled plans, anything else (and any
query the engine cannot plan) on strawberry's executor, with the same answers, errors and statuses.

What each step does, in strawberry's order (so that both executors refuse a document the same way):

    limits read before parsing, the parse         cached per document    never executed: errors only
    which operation, and is its type allowed      per request            CannotGetOperationTypeError,
                                                                         InvalidOperationTypeError (the view's
                                                                         400 / 405)
    the structural limits (depth, aliases, cost)  per request (the cost reads the variables)
    validation                                    cached per document
    the variables' coercion                       per request            BAD_USER_INPUT
    the plan                                      cached per document, operation and @skip/@include values
    running it                                    per request            data and field errors

Every error is classified as the ErrorCodes extension does (stable ``extensions.code``, anything unexpected
masked). ``loader_batching`` off (the naive mode benchmarks compare against) runs everything on the resolvers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from graphql import GraphQLError, OperationType
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from engine.documents import Document, Documents
from engine.plan import Unplannable
from engine.run import Run
from gateway.config import Settings
from gateway.context import Context
from gateway.observability.metrics import observe_executor
from gateway.observability.request import note_operation
from gateway.replicas import ReadRouting
from gateway.stores.mysql.client import replica_reads
from schema import schema
from schema.extensions.error_codes import classify
from schema.extensions.limits import measured

PLAN = "plan"
RESOLVERS = "resolvers"


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema = schema._schema
        self.documents = Documents(self.schema, settings, size=settings.plan_cache_size)
        self.enabled = settings.executor == PLAN and settings.loader_batching
        self.routing = ReadRouting(settings)

    def warm(self, documents: Collection[str]) -> int:
        """Prepare these documents and compile their plans now (see ``Documents.warm``); the plans compiled."""
        return self.documents.warm(documents) if self.enabled else 0

    async def execute(
        self,
        text: str,
        *,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        context: Context,
        allowed: Collection[StrawberryOperationType],
        extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        if not self.routing.enabled:
            return await self._execute(text, variables, operation_name, context, allowed, extensions)
        # MySQL replicas (gateway/replicas.py): a query's reads on a replica unless its viewer wrote recently; a
        # mutation marks its viewer once it ran. Anything else (and a document that does not parse) reads the primary.
        document = self.documents.get(text)
        operation = document.operation(operation_name) if document.node is not None else None
        kind = operation.operation if operation is not None else None
        if kind is OperationType.QUERY:
            with replica_reads(await self.routing.replica_allowed(context)):
                return await self._execute(text, variables, operation_name, context, allowed, extensions)
        if kind is not OperationType.MUTATION:
            return await self._execute(text, variables, operation_name, context, allowed, extensions)
        # Marked before (a mutation that times out or fails may have committed) and again once it ran (the window
        # counts from its answer).
        await self.routing.wrote(context)
        result = await self._execute(text, variables, operation_name, context, allowed, extensions)
        await self.routing.wrote(context)
        return result

    async def _execute(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        context: Context,
        allowed: Collection[StrawberryOperationType],
        extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        if not self.enabled:
            return await self._resolvers(text, variables, operation_name, context, allowed, extensions, "disabled")
        document = self.documents.get(text)
        if document.node is None:
            return self._refused(document.errors, context)
        operation = document.operation(operation_name)
        if operation is None:
            raise CannotGetOperationTypeError(operation_name)
        name = operation_name if operation_name is not None else (operation.name.value if operation.name else None)
        kind = StrawberryOperationType(operation.operation.value)
        if kind not in allowed:
            raise InvalidOperationTypeError(kind)
        if operation.operation is not OperationType.QUERY:
            return await self._resolvers(text, variables, operation_name, context, allowed, extensions, kind.value)
        note_operation(name, "query")  # as the OperationName extension does once a document parsed
        raw = dict(variables or {})
        refused, context.cost = measured(self.schema, document.node, name, raw, self.settings)
        if refused or document.invalid:
            return self._refused(refused or list(document.invalid), context)
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), raw, max_errors=50)
        if isinstance(coerced, list):
            return self._refused(coerced, context)
        plan, cached = self.documents.plan(document, operation, coerced)
        if isinstance(plan, Unplannable):
            reason = "introspection" if "introspection" in str(plan) else "unplanned_field"
            return await self._resolvers(
                text, variables, operation_name, context, allowed, extensions, reason, detail=str(plan)
            )
        observe_executor(PLAN, "planned")
        context.trace.executor = PLAN
        context.trace.plan = "cached" if cached else "compiled"
        return await self._run(document, plan, coerced, context)

    async def _run(self, document: Document, plan: Any, variables: VariableValues, context: Context) -> ExecutionResult:
        run = Run(context, variables)
        data = await run.execute(plan)
        errors = [classify(error, context.request_id) for error in run.errors]
        return ExecutionResult(data=data, errors=errors or None)

    def _refused(self, errors: Collection[GraphQLError], context: Context) -> ExecutionResult:
        """A document never executed: its errors only."""
        return ExecutionResult(data=None, errors=[classify(error, context.request_id) for error in errors])

    async def _resolvers(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        context: Context,
        allowed: Collection[StrawberryOperationType],
        extensions: dict[str, Any] | None,
        reason: str,
        *,
        detail: str | None = None,
    ) -> ExecutionResult:
        observe_executor(RESOLVERS, reason)
        context.trace.executor = RESOLVERS
        context.trace.unplanned = detail or reason
        return await schema.execute(
            text,
            variable_values=dict(variables) if variables is not None else None,
            context_value=context,
            operation_name=operation_name,
            allowed_operation_types=allowed,
            operation_extensions=extensions,
        )
