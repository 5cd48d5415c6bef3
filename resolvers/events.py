"""Behaviour events recorded where they happen (searches, cart changes; views in the HTTP layer): the request's
user, session and device are added here. Recording only appends to the process's buffer
(gateway/stores/mongo/recorder.py): it never waits for MongoDB and never raises."""

from __future__ import annotations

from gateway.stores.mongo.documents import EventType
from resolvers.info import Resolving


def record(
    info: Resolving,
    type: EventType,
    *,
    product_id: int | None = None,
    terms: str | None = None,
    results: int | None = None,
    quantity: int | None = None,
) -> None:
    context = info.context
    viewer = context.viewer
    context.sources.mongodb.events.record(
        type,
        user_id=None if viewer is None else viewer.user_id,
        session_id=context.session_id,
        device=context.device,
        product_id=product_id,
        terms=terms,
        results=results,
        quantity=quantity,
    )
