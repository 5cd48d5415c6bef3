"""Synthetic behaviour events with a shopper's funnel, from one seeded RNG (the same arguments give the same
events): sessions that search now and then, view products (popular ones more often: a Zipf-like skew), add some of
what they viewed to the cart and buy some of that. Used by bench/analytics.py to time report builds at scale.

Rates (per view): about 8% are added to the cart, and about 30% of cart adds are bought; one session in four
searches first (one search in ten finds nothing).

``dataset_events`` turns a seeded dataset's orders (MovieLens: its ratings) into the views, cart adds and purchases
that led to them (``gateway seed --with-events``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.jobs.datasets.rows import Dataset

VIEW_TO_CART = 0.08
CART_TO_PURCHASE = 0.30
SEARCH_SHARE = 0.25
WORDS = ("star", "wars", "love", "story", "alien", "night", "man", "city", "day", "dead", "king", "life")


def funnel_events(
    count: int, *, products: int, users: int, start: datetime, days: int, seed: int = 21
) -> Iterator[dict[str, Any]]:
    """``count`` events (documents for ``events``, without ``_id``) over ``days`` days from ``start``."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(products)]
    emitted = 0
    session = 0
    while emitted < count:
        session += 1
        user = rng.randint(1, users) if rng.random() < 0.6 else None
        who: dict[str, Any] = {"user_id": user} if user else {"session_id": f"synthetic-{seed}-{session}"}
        device = rng.choice(("web", "web", "mobile", "ios", "android"))
        at = start + timedelta(seconds=rng.randrange(days * 86_400))
        if rng.random() < SEARCH_SHARE:
            terms = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
            found = 0 if rng.random() < 0.1 else rng.randint(1, 40)
            yield {**who, "device": device, "type": "search", "terms": terms, "results": found, "ts": at}
            emitted += 1
        for product in rng.choices(range(1, products + 1), weights, k=rng.randint(1, 8)):
            if emitted >= count:
                return
            at += timedelta(seconds=rng.randint(5, 120))
            yield {**who, "device": device, "type": "view", "product_id": product, "ts": at}
            emitted += 1
            if rng.random() < VIEW_TO_CART and emitted < count:
                at += timedelta(seconds=rng.randint(5, 60))
                yield {**who, "device": device, "type": "add_to_cart", "product_id": product, "quantity": 1, "ts": at}
                emitted += 1
                if rng.random() < CART_TO_PURCHASE and emitted < count and user:
                    at += timedelta(seconds=rng.randint(30, 600))
                    yield {"user_id": user, "type": "purchase", "product_id": product, "quantity": 1, "ts": at}
                    emitted += 1


def dataset_events(dataset: Dataset) -> Iterator[dict[str, Any]]:
    """A seeded dataset's orders as the events that led to them: per order line (for MovieLens, a rating) a view
    ten minutes before the order, a cart add two minutes before it, and the purchase; keyed by order and product,
    so seeding them again adds nothing."""
    for order in dataset.orders:
        at = order.created_at.astimezone(UTC).replace(tzinfo=None) if order.created_at.tzinfo else order.created_at
        for item in order.items:
            key = f"{order.id}:{item.product_id}"
            who = {"user_id": order.user_id, "product_id": item.product_id}
            yield {"_id": f"seed:view:{key}", **who, "type": "view", "ts": at - timedelta(minutes=10)}
            yield {
                "_id": f"seed:cart:{key}",
                **who,
                "type": "add_to_cart",
                "quantity": item.quantity,
                "ts": at - timedelta(minutes=2),
            }
            if order.status != "cancelled":
                yield {"_id": f"seed:purchase:{key}", **who, "type": "purchase", "quantity": item.quantity, "ts": at}
