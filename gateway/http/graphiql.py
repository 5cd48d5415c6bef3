"""GraphiQL for browsers, fully offline: the page and its assets come from the gateway's own origin.

The assets are the npm packages pinned in ``deploy/graphiql/package.json`` (installed by ``scripts/setup``);
only the files listed in ``ASSETS`` are served, so nothing else under node_modules is reachable.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

ASSET_PREFIX = "/graphiql/assets"

# URL name -> (path under node_modules, media type)
ASSETS: dict[str, tuple[str, str]] = {
    "react.production.min.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.min.css": ("graphiql/graphiql.min.css", "text/css"),
    "plugin-explorer.umd.js": ("@graphiql/plugin-explorer/dist/index.umd.js", "text/javascript"),
    "plugin-explorer.css": ("@graphiql/plugin-explorer/dist/style.css", "text/css"),
}


def missing_assets(assets_dir: Path) -> list[str]:
    return [rel for rel, _ in ASSETS.values() if not (assets_dir / rel).is_file()]


def page_html() -> str:
    template = resources.files("gateway.http").joinpath("templates/graphiql.html").read_text("utf-8")
    return template.replace("{{assets}}", ASSET_PREFIX)


def asset_endpoint(assets_dir: Path):  # type: ignore[no-untyped-def]
    async def asset(request: Request) -> Response:
        entry = ASSETS.get(request.path_params["name"])
        if entry is None:
            return PlainTextResponse("not found", status_code=404)
        path = assets_dir / entry[0]
        if not path.is_file():
            return PlainTextResponse(f"GraphiQL asset {entry[0]} is not installed: run scripts/setup", status_code=503)
        return FileResponse(path, media_type=entry[1], headers={"Cache-Control": "public, max-age=86400"})

    return asset
