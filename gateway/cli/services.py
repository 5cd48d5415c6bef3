"""What scripts/services relies on: ``gateway ping``, ``gateway neo4j-init-password``, ``gateway service-env``."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from gateway.config import SOURCE_NAMES, Settings, SourceName
from gateway.errors import SourceAuthFailed, SourceError


async def _ping(settings: Settings, name: SourceName, wait: float) -> str | None:
    """None once ``name`` answers a real request; the last error if it did not within ``wait`` seconds."""
    from gateway.stores import Sources

    sources = Sources.create(settings)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                await sources.by_name(name).ping()
                return None
            except SourceError as exc:
                if isinstance(exc, SourceAuthFailed) or time.monotonic() >= deadline:
                    return f"{exc}: {exc.detail}"
            await asyncio.sleep(0.5)
    finally:
        await sources.close()


def _ping_command(settings: Settings, args: argparse.Namespace) -> int:
    error = asyncio.run(_ping(settings, args.source, args.wait))
    if error:
        print(error, file=sys.stderr)
        return 1
    return 0


async def _warm(settings: Settings, name: SourceName) -> list[tuple[str, float]]:
    from gateway.jobs.warm import warm
    from gateway.stores import Sources

    sources = Sources.create(settings)
    try:
        return await warm(sources, name)
    finally:
        await sources.close()


def _warm_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        timings = asyncio.run(_warm(settings, args.source))
    except SourceError as exc:
        print(f"{args.source}: warm-up failed: {exc}: {exc.detail}", file=sys.stderr)
        return 1
    print(f"{args.source}: warmed: " + ", ".join(f"{operation} {ms:.0f} ms" for operation, ms in timings))
    return 0


def _neo4j_init_password(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.stores.neo4j.client import set_initial_password

    try:
        changed = asyncio.run(
            set_initial_password(
                settings.neo4j_url,
                settings.neo4j_user,
                settings.neo4j_password.get_secret_value(),
                wait=args.wait,
            )
        )
    except SourceError as exc:
        print(f"{exc}: {exc.detail}", file=sys.stderr)
        return 1
    print("neo4j: initial password set" if changed else "neo4j: password already set")
    return 0


def service_env(settings: Settings) -> dict[str, str]:
    """What scripts/services needs to start servers that match these settings (one source of truth)."""
    mysql = urlsplit(settings.mysql_url)
    return {
        "MYSQL_PORT": str(mysql.port or 3306),
        "MYSQL_USER": mysql.username or "gateway",
        "MYSQL_PASSWORD": settings.mysql_password.get_secret_value(),
        "MYSQL_DATABASE": settings.mysql_database,
        "MONGO_PORT": str(urlsplit(settings.mongo_url).port or 27017),
        "NEO4J_PORT": str(urlsplit(settings.neo4j_url).port or 7687),
        "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
        "REDIS_PORT": str(urlsplit(settings.redis_url).port or 6379),
        # The optional local Redis Cluster (scripts/services start redis-cluster), on the ports after Redis's.
        "REDIS_CLUSTER_PORT": str(redis_cluster_port(settings)),
    }


def redis_cluster_port(settings: Settings) -> int:
    """The first of the local Redis Cluster's three nodes (the next two follow; their bus ports the three after):
    the configured Redis's port + 1000 (the ports right after Redis's are the benches' server sets')."""
    return (urlsplit(settings.redis_url).port or 6379) + 1000


def _service_env(settings: Settings, args: argparse.Namespace) -> int:
    for key, value in service_env(settings).items():
        print(f"SVC_{key}={shlex.quote(value)}")
    return 0


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this group's commands to ``gateway`` with ``add_parser`` (that of its subcommands)."""
    ping = add_parser("ping", help="wait until one store answers a real request")
    ping.add_argument("source", choices=SOURCE_NAMES)
    ping.add_argument("--wait", type=float, default=0.0, help="keep trying for this many seconds")
    ping.set_defaults(run=_ping_command)

    warm = add_parser("warm", help="run the read path's queries once against a store that just started")
    warm.add_argument("source", choices=["neo4j", "mongodb"])
    warm.set_defaults(run=_warm_command, batch=True)

    init = add_parser("neo4j-init-password", help="set Neo4j's first password from the settings")
    init.add_argument("--wait", type=float, default=0.0, help="wait this many seconds for Bolt to answer")
    init.set_defaults(run=_neo4j_init_password)

    env = add_parser("service-env", help="print the ports and credentials scripts/services uses")
    env.set_defaults(run=_service_env)
