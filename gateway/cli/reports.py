"""``gateway reports build [--since DAY]``: aggregate the events and orders into the report collections
(gateway/jobs/reports.py)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import date

from gateway.config import Settings


def _build(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.reports import build
    from gateway.stores import Sources

    async def run() -> str:
        sources = Sources.create(settings)
        try:
            return (await build(sources, args.since)).line()
        finally:
            await sources.close()

    print(asyncio.run(run()))
    return 0


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    reports = add_parser("reports", help="the analytics reports (docs/analytics.md)")
    commands = reports.add_subparsers(dest="reports_command", required=True)
    build = commands.add_parser("build", help="rebuild the reports of the days since DAY (default: since the last)")
    build.add_argument("--since", type=date.fromisoformat, metavar="DAY", help="first UTC day to rebuild, YYYY-MM-DD")
    build.set_defaults(run=_build, batch=True)
