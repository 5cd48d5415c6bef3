"""Unexpected exceptions are logged with the request id and reach clients only as INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import logging

import httpx
import pytest
from graphql import GraphQLError

from gateway.errors import NotFound, SourceUnavailable
from gateway.jobs.seeding import SeedReport
from schema.extensions.error_codes import classify


def test_an_unexpected_exception_is_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    leaky = RuntimeError("asyncmy.errors.OperationalError: (1045) Access denied for user 'gateway'@'10.0.0.7'")
    error = GraphQLError("boom", path=["product", "title"], original_error=leaky)
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        masked = classify(error, "req-12345678")
    assert masked.message == "Internal server error"
    assert masked.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-12345678"}
    assert masked.path == ["product", "title"]
    assert "Access denied" not in str(masked.formatted)
    (record,) = caplog.records
    assert "req-12345678" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[1] is leaky


def test_gateway_errors_keep_their_message_and_code() -> None:
    found = classify(GraphQLError("x", original_error=NotFound("product 9 not found")), "r")
    assert (found.message, found.extensions) == ("x", {"code": "NOT_FOUND"})
    down = classify(GraphQLError("neo4j is unavailable", original_error=SourceUnavailable("neo4j", "detail")), "r")
    assert down.extensions == {"code": "SOURCE_UNAVAILABLE", "source": "neo4j"}
    assert "detail" not in str(down.formatted)


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    mine = await client.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"X-Request-Id": "trace-0001-abcd"}
    )
    assert mine.headers["x-request-id"] == "trace-0001-abcd"
    fresh = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers={"X-Request-Id": "bad id!"})
    assert len(fresh.headers["x-request-id"]) == 32
    assert fresh.headers["x-request-id"] != "bad id!"
