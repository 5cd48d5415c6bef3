"""Resolvers of ``Query.backends``: one field per store, each served by that store alone."""

from __future__ import annotations

from gateway.config import SourceName
from loaders.backends import BackendStatus
from resolvers.info import Resolving


async def status(info: Resolving, source: SourceName) -> BackendStatus:
    return await info.context.loaders.backend_status.load(source)
