"""The root Subscription type (graphql-transport-ws on /graphql)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import strawberry

from resolvers import subscriptions
from resolvers.info import Info
from schema.types.orders import Order, OrderStatus


@strawberry.type(description="One change of an order's status.")
class OrderStatusChange:
    order: Order = strawberry.field(
        description="The order read after the change (with fresh loaders): a later change may already show in it."
    )
    from_: OrderStatus | None = strawberry.field(name="from", description="The status before; null for a new order.")
    to: OrderStatus = strawberry.field(description="The status this change set.")
    at: datetime = strawberry.field(description="When the change was committed.")


def _utc(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every status change of an order, for its owner or an admin (UNAUTHENTICATED, FORBIDDEN, "
        "NOT_FOUND as for order(id)). Changes only, from when the subscription is active: read order(id) after "
        "subscribing for the status before. Ends with SOURCE_UNAVAILABLE when Redis is lost (subscribe again)."
    )
    async def order_status_changed(
        self, info: Info, order_id: strawberry.ID
    ) -> AsyncGenerator[OrderStatusChange, None]:
        async for change, record in subscriptions.order_status_changes(info, order_id):
            yield OrderStatusChange(
                order=Order.from_record(record),
                from_=None if change.from_status is None else OrderStatus(change.from_status),
                to=OrderStatus(change.to_status),
                at=_utc(change.at),
            )
