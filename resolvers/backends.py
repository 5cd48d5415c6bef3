"""Resolvers of ``Query.backends``: one field per store, each served by that store alone."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from gateway.config import SourceName
from gateway.context import Context
from loaders.backends import BackendStatus

Info: TypeAlias = strawberry.Info[Context, None]


async def status(info: Info, source: SourceName) -> BackendStatus:
    return await info.context.loaders.backend_status.load(source)
