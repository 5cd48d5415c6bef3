"""Each server stopped through scripts/services turns /ready into 503 naming it; starting it again recovers.

While it is down, the query field served by that store alone is null with SOURCE_UNAVAILABLE; the others resolve.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import eventually
from tests.services import services

QUERY = "{ backends { mysql { version } mongodb { version } neo4j { version } redis { version } } }"


@pytest.mark.services
@pytest.mark.parametrize("name", ["mysql", "redis", "mongodb", "neo4j"])
async def test_stopped_store_is_named_by_ready_and_recovers(client: httpx.AsyncClient, name: str) -> None:
    services("stop", name)
    try:
        response = await client.get("/ready")
        body = response.json()
        assert response.status_code == 503, body
        assert body["status"] == "unavailable"
        assert body["down"] == [name]
        assert body["sources"][name]["up"] is False
        assert body["sources"][name]["code"] in {"SOURCE_UNAVAILABLE", "TIMEOUT"}
        assert all(s["up"] for n, s in body["sources"].items() if n != name)

        result = (await client.post("/graphql", json={"query": QUERY})).json()
        backends = result["data"]["backends"]
        assert backends[name] is None
        assert [e["extensions"]["source"] for e in result["errors"]] == [name]
        assert result["errors"][0]["extensions"]["code"] in {"SOURCE_UNAVAILABLE", "TIMEOUT"}
        assert result["errors"][0]["path"] == ["backends", name]
        assert all(backends[n] is not None for n in backends if n != name)
    finally:
        services("start", name)

    async def ready() -> bool:
        return (await client.get("/ready")).status_code == 200

    assert await eventually(ready, timeout=30), (await client.get("/ready")).json()
