"""Subscriptions: checked once when they start, then one result per event, each read with fresh DataLoaders.

A subscription's context is its WebSocket connection's (strawberry builds one per connection), so its DataLoaders
would otherwise live, and cache, as long as the connection. Each event replaces them before its fields resolve:
the order a subscriber receives is read after the change it is told about.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from gateway.domain.records import OrderRecord
from gateway.jobs import order_events
from gateway.jobs.order_events import StatusChange
from loaders import Loaders
from resolvers import lookup
from resolvers.info import Resolving

log = logging.getLogger(__name__)


def fresh_loaders(info: Resolving) -> None:
    context = info.context
    context.loaders = Loaders(sources=context.sources, settings=context.settings)


async def order_status_changes(info: Resolving, order_id: str) -> AsyncIterator[tuple[StatusChange, OrderRecord]]:
    """Each status change of the order (once per outbox event), with the order as it is after it.

    Before the first: the viewer must be signed in (UNAUTHENTICATED, whether or not the order exists), the order
    must exist (NOT_FOUND) and be theirs or the viewer an admin (FORBIDDEN). Ends with SOURCE_UNAVAILABLE when
    Redis cannot be listened to or the process's pub/sub connection is lost.
    """
    fresh_loaders(info)
    record = await lookup.owned_order(info, order_id)
    context = info.context
    delivered: set[int] = set()  # outbox ids: a replayed event is published again (at least once)
    async with context.sources.redis.channels.listen(order_events.channel(context.settings, record.id)) as messages:
        async for data in messages:
            try:
                change = StatusChange.decode(data)
            except ValueError as exc:
                log.warning("order %d: skipped a message: %s", record.id, exc)
                continue
            if change.order_id != record.id or change.event_id in delivered:
                continue
            delivered.add(change.event_id)
            fresh_loaders(info)
            current = await context.loaders.orders.load(record.id)
            if current is not None:
                yield change, current
