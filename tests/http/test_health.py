"""/health says the process answers; /ready says every store answers a real request."""

from __future__ import annotations

import httpx


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_all_four_sources_up_with_latency(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["down"] == []
    assert set(body["sources"]) == {"mysql", "mongodb", "neo4j", "redis"}
    for name, source in body["sources"].items():
        assert source["up"] is True, name
        assert 0 < source["latencyMs"] < 5000, name
    assert response.headers["cache-control"] == "no-store"
