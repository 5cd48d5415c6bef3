"""Behaviour events recorded where they happen (searches, cart changes; views in the HTTP layer): the request's
user, session and device are added here. Recording only appends to the process's buffer
(gateway/stores/mongo/recorder.py): it never waits for MongoDB and never raises."""

from __future__ import annotations

from gateway.domain.records import ProductRecord
from gateway.stores.mongo import events as mongo_events
from gateway.stores.mongo.documents import EventType
from resolvers.arguments import top_limit
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


async def recently_viewed_many(info: Resolving, user_ids: list[int], limit: int) -> list[list[ProductRecord]]:
    """Per user, the products they viewed last (each once, latest first; products since deleted left out): one
    MongoDB aggregate, then the products through the batched loader. Views show once the recorder has written them
    (within ``events_flush_interval_s``)."""
    limit = top_limit(limit)
    per_user = await mongo_events.recently_viewed(info.context.sources.mongodb, user_ids, limit)
    wanted = list(dict.fromkeys(pid for ids in per_user for pid in ids))
    products = dict(zip(wanted, await info.context.loaders.products.load_many(wanted), strict=True)) if wanted else {}
    return [[p for pid in ids if (p := products[pid]) is not None] for ids in per_user]
