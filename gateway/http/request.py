"""Reading a GraphQL-over-HTTP request: a GET's query string or a POST's JSON body, checked before execution.

Anything wrong with the request itself, rather than with its GraphQL document, is a ``RequestError``: a status
(400, 413, 415) and a message for the client, answered with ``extensions.code`` BAD_REQUEST before any GraphQL
work is done. A POST body is read at most ``max_body_bytes`` (plus one chunk) into memory, whatever its
Content-Length says.

``query`` may be left out when the request names a persisted document instead: an APQ hash in
``extensions.persistedQuery`` (Apollo) or a ``doc_id`` (Relay). Which document that is, and whether it may run, is
gateway/http/persisted.py's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from gateway.http.media import JSON, parse_media_type


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None  # None only when ``doc_id`` or ``extensions.persistedQuery`` names the document
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    doc_id: str | None = None


class RequestError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def from_query_params(params: Mapping[str, str]) -> GraphQLRequest:
    """A GET: ``query`` (or ``doc_id``), ``operationName``, and ``variables`` / ``extensions`` as JSON text."""
    return _checked(
        query=params.get("query"),
        variables=_json_param(params, "variables"),
        operation_name=params.get("operationName"),
        extensions=_json_param(params, "extensions"),
        doc_id=params.get("doc_id"),
    )


def _json_param(params: Mapping[str, str], name: str) -> object:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the `{name}` parameter is not valid JSON: {exc}") from exc


async def from_post(request: Request, *, max_body_bytes: int) -> GraphQLRequest:
    """A POST: an ``application/json`` body holding one JSON object."""
    check_content_type(request.headers.get("content-type"))
    return from_body(await read_body(request, limit=max_body_bytes))


def check_content_type(value: str | None) -> None:
    media_type, params = parse_media_type(value or "")
    if media_type != JSON:
        got = f"`{value}`" if value else "none"
        raise RequestError(415, f"a POST body must be sent as Content-Type: application/json (got {got})")
    if params.get("charset", "utf-8").lower() not in {"utf-8", "utf8"}:
        raise RequestError(415, f"a POST body must be application/json in UTF-8 (got charset={params['charset']})")


async def read_body(request: Request, *, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit``: declared, or counted as it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise RequestError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> RequestError:
    return RequestError(413, f"the request body is larger than the {limit} bytes accepted")


def from_body(body: bytes) -> GraphQLRequest:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from exc
    if isinstance(payload, list):
        raise RequestError(400, "batched requests (a JSON array) are not supported: send one operation per request")
    if not isinstance(payload, dict):
        raise RequestError(400, "the body must be a JSON object with a `query` string")
    return _checked(
        query=payload.get("query"),
        variables=payload.get("variables"),
        operation_name=payload.get("operationName"),
        extensions=payload.get("extensions"),
        doc_id=payload.get("doc_id"),
    )


def _checked(
    *, query: object, variables: object, operation_name: object, extensions: object, doc_id: object = None
) -> GraphQLRequest:
    by_hash = isinstance(extensions, dict) and "persistedQuery" in extensions
    if doc_id is not None:
        if not isinstance(doc_id, str) or not doc_id.strip():
            raise RequestError(400, "`doc_id` must be a non-empty string naming a persisted document")
        if query is not None:
            raise RequestError(400, "send either `query` or `doc_id`, not both")
        if by_hash:
            raise RequestError(400, "send either `doc_id` or `extensions.persistedQuery`, not both")
    elif query is None and not by_hash:
        raise RequestError(400, "no GraphQL query: send the document as `query`")
    if query is not None:
        if not isinstance(query, str):
            raise RequestError(400, "`query` must be a string holding a GraphQL document")
        if not query.strip():
            raise RequestError(400, "`query` is empty")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object (or null)")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string (or null)")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be a JSON object (or null)")
    return GraphQLRequest(query, variables, operation_name or None, extensions, doc_id)
