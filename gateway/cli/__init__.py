"""The ``gateway`` command: serve the API, and the small operations scripts/services and CI rely on."""

from __future__ import annotations

import argparse

from gateway.cli import jobs, persisted, reports, sdl, serve, services, tokens
from gateway.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (serve, services, jobs, reports, tokens, persisted, sdl):  # the order of `gateway --help`
        group.register(commands.add_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Commands that touch no store run without settings, so CI can diff schemas with no GATEWAY_* secret set.
    settings = Settings() if getattr(args, "needs_settings", True) else Settings.model_construct()
    if getattr(args, "batch", False):  # bulk work: its store calls get the batch bound, not a request's
        settings = settings.model_copy(update={"source_timeout_s": settings.batch_timeout_s})
    status: int = args.run(settings, args)
    return status
