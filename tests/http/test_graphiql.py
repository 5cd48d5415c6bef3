"""GraphiQL is served fully offline: the page and every asset it references come from the gateway itself."""

from __future__ import annotations

import re

import httpx

from gateway.http.graphiql import ASSETS


async def _page(client: httpx.AsyncClient) -> str:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_page_references_no_other_origin(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    assert "GraphiQL" in page
    assert "http://" not in page
    assert "https://" not in page
    assert not re.search(r"""(src|href)=["']//""", page)


async def test_every_referenced_asset_is_served_from_the_same_origin(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assets = [ref for ref in refs if not ref.startswith("data:")]
    # Every script and stylesheet of the page, and nothing but what the gateway lists.
    assert len(assets) == len(ASSETS), assets
    for ref in assets:
        assert ref.startswith("/graphiql/assets/"), ref
        response = await client.get(ref)
        assert response.status_code == 200, ref
        kind = "text/css" if ref.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(kind), ref
        assert len(response.content) > 500, ref
    graphiql = await client.get("/graphiql/assets/graphiql.min.js")
    assert b"GraphiQL" in graphiql.content


async def test_only_listed_assets_are_reachable(client: httpx.AsyncClient) -> None:
    assert (await client.get("/graphiql/assets/package.json")).status_code == 404
    assert (await client.get("/graphiql/assets/..%2F..%2Fpyproject.toml")).status_code == 404
