"""``gateway serve``: the ASGI app under uvicorn."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from gateway.config import Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.http.manifests import ManifestError, Manifests, manifest_paths
    from gateway.observability import logs, metrics

    try:  # the app loads them too: checked here first so a bad manifest is one clear line, not a traceback
        Manifests.load(manifest_paths(settings.persisted_manifests, settings.persisted_dir))
    except ManifestError as exc:
        print(f"gateway serve: invalid persisted manifest: {exc}", file=sys.stderr)
        return 1
    metrics.clear_multiprocess_dir()  # PROMETHEUS_MULTIPROC_DIR, when set: counters start from zero
    workers = args.workers or settings.workers
    if workers > 1 and args.reload:
        print("gateway serve: --reload runs one process: drop --workers (or GATEWAY_WORKERS)", file=sys.stderr)
        return 2
    uvicorn.run(
        "gateway.http.asgi:app",  # an import string: each worker process imports the app (and builds its own clients)
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=logs.log_config(settings),  # GATEWAY_LOG_FORMAT, the request id and process on every line
        reload=args.reload,
        proxy_headers=True,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
    )
    return 0


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this group's commands to ``gateway`` with ``add_parser`` (that of its subcommands)."""
    serve = add_parser("serve", help="serve GraphQL (and GraphiQL) over HTTP")
    serve.add_argument("--host", help="default: GATEWAY_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default: GATEWAY_PORT (8000)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument(
        "--workers", type=int, choices=range(1, 65), metavar="N", help="worker processes, 1 to 64 (GATEWAY_WORKERS)"
    )
    serve.set_defaults(run=_serve)
