"""Tells the request's observability record which operation ran: its name and type (query, mutation…)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from gateway.observability.request import note_operation


class OperationName(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.graphql_document is None:  # never parsed: the name the request gave stays
            return
        try:
            operation_type: str | None = context.operation_type.value
        except Exception:  # no operation of that name in the document: the request failed validation
            operation_type = None
        note_operation(context.operation_name, operation_type)
