"""Every error leaves with a stable ``extensions.code``; anything unexpected is masked.

A ``GatewayError`` keeps its message and gains its code (and, for a store, the store's name). Parse and
validation errors get GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED. Anything else is logged with a request
id and reaches the client only as INTERNAL_SERVER_ERROR carrying that id: driver errors never leak.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import GatewayError

log = logging.getLogger("gateway.errors")


def _with_code(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), **extensions},
    )


def classify(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error with its ``extensions.code``; unexpected ones masked.

    Variables that do not coerce to their declared types (graphql-core reports them before execution, as
    "Variable '$x' has invalid value: …", wrapping the scalar's own GraphQLError) are the client's input:
    BAD_USER_INPUT, message kept. Validation errors about variables ("Variable '$x' is never used.") are not.
    """
    original = error.original_error
    if isinstance(original, GatewayError):
        return _with_code(error, error.message, original.extensions())
    # graphql-core 3.3 wording first, then 3.2's ("got invalid value", "was not provided.", "must not be null.")
    coercion = ("has invalid value", "has invalid default value", "got invalid value", "was not provided.", "be null.")
    if (
        (original is None or isinstance(original, GraphQLError))
        and error.message.startswith("Variable '$")
        and any(marker in error.message for marker in coercion)
    ):
        return _with_code(error, error.message, {"code": "BAD_USER_INPUT"})
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error
        code = "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
        return _with_code(error, error.message, {"code": code})
    log.error("unexpected error (request %s) at %s", request_id, error.path, exc_info=original)
    masked = _with_code(error, "Internal server error", {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})
    masked.original_error = None
    return masked


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        self._classify(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result of a subscription, before it is sent (on_operation only sees the stream's end)."""
        self._classify(result)
        yield

    def _classify(self, result: Any) -> None:
        """Every error of ``result`` classified, under one request id (the context's, or one made for it)."""
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None) or uuid.uuid4().hex
        result.errors = [classify(error, request_id) for error in errors]
