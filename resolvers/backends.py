"""Resolvers of ``Query.backends``: one field per store, each served by that store alone."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from gateway.context import Context
from loaders.backends import BackendStatus

Info: TypeAlias = strawberry.Info[Context, None]


async def mysql(info: Info) -> BackendStatus:
    return await info.context.loaders.backend_status.load("mysql")


async def mongodb(info: Info) -> BackendStatus:
    return await info.context.loaders.backend_status.load("mongodb")


async def neo4j(info: Info) -> BackendStatus:
    return await info.context.loaders.backend_status.load("neo4j")


async def redis(info: Info) -> BackendStatus:
    return await info.context.loaders.backend_status.load("redis")
