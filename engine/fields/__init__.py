"""How the plan executor computes every field it can plan, by ``Type.field``; a field missing here makes its
operation run on the strawberry executor instead."""

from __future__ import annotations

from engine.fields import carts, orders, products, reports, root, sessions, sync, users
from engine.fields.base import Impl

FIELDS: dict[str, Impl] = {
    **root.FIELDS,
    **users.FIELDS,
    **orders.FIELDS,
    **products.FIELDS,
    **carts.FIELDS,
    **sync.FIELDS,
    **sessions.FIELDS,
    **reports.FIELDS,
}
