"""Order status changes on Redis pub/sub: what the relay publishes and ``orderStatusChanged`` listens to.

The relay publishes one ``StatusChange`` per applied outbox event that changes an order's status
(``order.created`` → pending, ``order.status_changed``, ``order.cancelled``), after the round has marked it
processed, on the order's channel. Every gateway process that has a subscriber of that order receives it.

Delivery is best effort, like any pub/sub: a change published while no process listens is gone (the order itself
is in MySQL; a client reads ``order(id)`` after subscribing to have no gap), and a failed PUBLISH is logged, not
retried (retrying would hold up the outbox for a notification). At least once on the relay's side: an event
applied again after a lost lease is published again, with the same outbox id; a subscription skips ids it has
already delivered.

Pub/sub channels are not per Redis database, so the channel names the cache namespace and the database: two
deployments (or the test suite and a developer's gateway) sharing a Redis server do not hear each other.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.stores import Sources

log = logging.getLogger("gateway.order_events")

STATUS_OF_EVENT = {"order.created": "pending", "order.cancelled": "cancelled"}  # order.status_changed: its "to"


@dataclass(frozen=True, slots=True)
class StatusChange:
    event_id: int  # the outbox id: the same change published twice carries the same one
    order_id: int
    user_id: int
    from_status: str | None  # None for a new order
    to_status: str
    at: str  # ISO 8601, UTC, when MySQL committed the change

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> StatusChange:
        """Raises ``ValueError`` for anything but what ``encode`` writes."""
        try:
            raw = json.loads(data)
            return cls(
                event_id=int(raw["event_id"]),
                order_id=int(raw["order_id"]),
                user_id=int(raw["user_id"]),
                from_status=None if raw["from_status"] is None else str(raw["from_status"]),
                to_status=str(raw["to_status"]),
                at=str(raw["at"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a status change: {data[:200]!r}") from exc


def change_of(event_id: int, event_type: str, payload: dict[str, Any]) -> StatusChange:
    """The status change an order's outbox event (created, cancelled or status_changed) stands for."""
    to_status = str(payload["to"]) if event_type == "order.status_changed" else STATUS_OF_EVENT[event_type]
    return StatusChange(
        event_id=event_id,
        order_id=int(payload["order_id"]),
        user_id=int(payload["user_id"]),
        from_status=None if event_type == "order.created" else str(payload["from"]),
        to_status=to_status,
        at=str(payload["at"]),
    )


def channel(settings: Settings, order_id: int) -> str:
    return f"{settings.cache_namespace}:{settings.redis_db}:order:{order_id}"


async def publish(sources: Sources, settings: Settings, changes: list[StatusChange]) -> int:
    """Publish each change in order; a failure is logged and ends the batch (Redis is down). How many were sent."""
    sent = 0
    for change in changes:
        try:
            await sources.redis.channels.publish(channel(settings, change.order_id), change.encode())
        except SourceError as exc:
            log.warning(
                "order status changes not published (%d of %d, from outbox event %d): %s (%s)",
                len(changes) - sent,
                len(changes),
                change.event_id,
                exc,
                exc.detail,
            )
            break
        sent += 1
    return sent
