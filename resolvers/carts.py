"""Carts: Redis holds them; a signed-in user's is also snapshotted to MySQL so that it survives a Redis loss.

Whose cart: the viewer's (``cart:{user_id}``) when a token is sent, else the guest session's
(``cart:session:{session_id}``, from ``X-Session-Id`` or the session cookie). A change of a user's cart runs under
that user's MySQL row lock and writes the snapshot from the cart Redis answers with (gateway/stores/mysql/carts.py);
a guest's cart is Redis only. Reading a user's cart whose key is missing restores it from the snapshot; with Redis
down, reading a user's cart answers the snapshot, and every change fails with SOURCE_UNAVAILABLE.

Checkout turns the viewer's cart into an order through ``writes.create_order`` and only then takes the ordered
lines off the cart. One checkout per user at a time (a Redis lock): a second concurrent one is a CONFLICT rather
than a second order of the same cart. Retrying with the same idempotency key is safe: it returns the same order
(and finishes clearing the cart if that failed), even once the cart is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from gateway.domain.records import OrderRecord
from gateway.errors import BadUserInput, Conflict, NotFound, SourceError
from gateway.stores.mysql import carts as mysql_carts
from gateway.stores.mysql.carts import Snapshot
from gateway.stores.redis import carts as redis_carts
from gateway.stores.redis.carts import CartState, Items, Seed
from resolvers import events, sessions, writes
from resolvers.arguments import parse_id
from resolvers.info import Resolving
from resolvers.permissions import signed_in
from resolvers.writes import IDEMPOTENCY_KEY, MAX_QUANTITY

log = logging.getLogger("gateway.carts")


@dataclass(frozen=True, slots=True)
class Owner:
    """A cart's Redis key, its user (None for a guest's) and how long it lives after a change."""

    key: str
    user_id: int | None
    ttl_s: int


def _user(info: Resolving, user_id: int) -> Owner:
    return Owner(redis_carts.user_key(user_id), user_id, info.context.settings.cart_ttl_s)


def _guest(info: Resolving) -> Owner:
    session_id = info.context.session_id
    if session_id is None:
        raise BadUserInput("a guest's cart needs a session: send X-Session-Id (8 to 128 letters, digits, _ or -)")
    return Owner(redis_carts.guest_key(session_id), None, info.context.settings.guest_cart_ttl_s)


def _owner(info: Resolving) -> Owner:
    viewer = info.context.viewer
    return _guest(info) if viewer is None else _user(info, viewer.user_id)


def _quantity(quantity: int) -> int:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadUserInput(f"quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")
    return quantity


def _accepted(info: Resolving, state: CartState) -> CartState:
    if state.status == "too_many_units":
        raise BadUserInput(f"a cart holds at most {MAX_QUANTITY} units of one product")
    if state.status == "too_many_lines":
        raise BadUserInput(f"a cart holds at most {info.context.settings.max_order_lines} different products")
    return state


# Reads


async def viewer_cart(info: Resolving) -> Items:
    """The viewer's cart, or the guest session's."""
    owner = _owner(info)
    if owner.user_id is None:
        return await redis_carts.read(info.context.sources.redis, key=owner.key)
    return await user_cart(info, owner.user_id)


async def user_cart(info: Resolving, user_id: int, *, strict: bool = False) -> Items:
    """A user's cart (the caller checks who may read it). Missing in Redis: restored from the snapshot. Redis
    down: the snapshot, unless ``strict`` (checkout must see what it will clear)."""
    sources, settings = info.context.sources, info.context.settings
    key = redis_carts.user_key(user_id)
    try:
        items = await redis_carts.read(sources.redis, key=key)
    except SourceError as exc:
        if strict:
            raise
        log.warning("cart of user %s read from its MySQL snapshot: %s (%s)", user_id, exc, exc.detail)
        found = await mysql_carts.snapshot(
            sources.mysql, settings.source_timeout_s, user_id=user_id, max_age_s=settings.cart_ttl_s
        )
        return {} if found is None else found.items
    if items:
        return items

    async def write_back(found: Snapshot | None) -> Items:
        if found is None or not found.items:
            return {}
        try:
            return await redis_carts.restore(sources.redis, key=key, seed=Seed(found.items, found.ttl_s))
        except SourceError:
            if strict:
                raise
            return found.items

    return await mysql_carts.restore(
        sources.mysql, settings.write_timeout_s, user_id=user_id, max_age_s=settings.cart_ttl_s, write_back=write_back
    )


# Changes


async def _change(info: Resolving, owner: Owner, run: Callable[[Seed | None], Awaitable[CartState]]) -> Items:
    """Run one cart script; for a user's cart under the user's lock, seeded from and written to the snapshot."""
    if owner.user_id is None:
        return _accepted(info, await run(None)).items

    async def apply(found: Snapshot | None) -> tuple[CartState, Items | None]:
        state = _accepted(info, await run(None if found is None else Seed(found.items, found.ttl_s)))
        return state, state.items if state.changed else None

    sources, settings = info.context.sources, info.context.settings
    state = await mysql_carts.change(
        sources.mysql, settings.write_timeout_s, user_id=owner.user_id, max_age_s=owner.ttl_s, apply=apply
    )
    return state.items


async def add(info: Resolving, product_id: str, quantity: int) -> Items:
    key = parse_id(product_id, "productId")
    _quantity(quantity)
    owner = _owner(info)
    if await info.context.loaders.products.load(key) is None:
        raise NotFound(f"product {key} not found")
    redis, max_lines = info.context.sources.redis, info.context.settings.max_order_lines

    async def run(seed: Seed | None) -> CartState:
        return await redis_carts.add(
            redis,
            key=owner.key,
            product_id=key,
            quantity=quantity,
            max_quantity=MAX_QUANTITY,
            max_lines=max_lines,
            ttl_s=owner.ttl_s,
            seed=seed,
        )

    items = await _change(info, owner, run)
    events.record(info, "add_to_cart", product_id=key, quantity=quantity)  # once the change is made
    return items


async def remove(info: Resolving, product_id: str, quantity: int | None) -> Items:
    """Take ``quantity`` units of the product off the cart (None, or as many as there are: the whole line). A
    product that is not in the cart is no error; nor is one gone from the catalogue (it can still be removed)."""
    key = parse_id(product_id, "productId")
    if quantity is not None:
        _quantity(quantity)
    owner = _owner(info)
    redis = info.context.sources.redis

    changed: list[bool] = []

    async def run(seed: Seed | None) -> CartState:
        state = await redis_carts.remove(
            redis, key=owner.key, product_id=key, quantity=quantity, ttl_s=owner.ttl_s, seed=seed
        )
        changed.append(state.changed)
        return state

    items = await _change(info, owner, run)
    if changed and changed[-1]:  # a product that was not in the cart is no removal
        events.record(info, "remove_from_cart", product_id=key, quantity=quantity)
    return items


async def merge_guest(info: Resolving) -> Items:
    """Add the guest session's cart into the viewer's (each product capped at MAX_QUANTITY) and delete it, in one
    atomic Redis script: a second merge, even a concurrent one, finds no guest cart and adds nothing. Refused
    (nothing changes) when the merged cart would hold more than max_order_lines products."""
    viewer = signed_in(info)
    guest = _guest(info)
    owner = _user(info, viewer.user_id)
    redis, max_lines = info.context.sources.redis, info.context.settings.max_order_lines

    async def run(seed: Seed | None) -> CartState:
        return await redis_carts.merge(
            redis,
            key=owner.key,
            guest=guest.key,
            max_quantity=MAX_QUANTITY,
            max_lines=max_lines,
            ttl_s=owner.ttl_s,
            seed=seed,
        )

    items = await _change(info, owner, run)
    await sessions.link(info, viewer.user_id)  # signing in: the guest's session is now the user's
    return items


async def checkout(info: Resolving, idempotency_key: str) -> OrderRecord:
    viewer = signed_in(info)
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise BadUserInput("idempotencyKey must be 8 to 128 letters, digits, or . _ : -")
    owner = _user(info, viewer.user_id)
    sources, settings = info.context.sources, info.context.settings
    lock = redis_carts.checkout_lock_key(viewer.user_id)
    # The request timeout bounds the whole checkout, so the lock outlives it even if the unlock never runs.
    token = await redis_carts.lock(sources.redis, key=lock, ttl_s=settings.request_timeout_s)
    if token is None:
        raise Conflict("a checkout of this cart is already running: retry with the same idempotencyKey")
    try:
        items = await user_cart(info, viewer.user_id, strict=True)
        if not items:
            order_id = await mysql_carts.order_for_key(
                sources.mysql, settings.source_timeout_s, user_id=viewer.user_id, idempotency_key=idempotency_key
            )
            if order_id is None:
                raise BadUserInput("the cart is empty")
            return await _order(info, order_id)  # this checkout was done before: its order
        # Refused (OUT_OF_STOCK, NOT_FOUND, ...) → the exception leaves the cart as it is.
        order = await writes.create_order(info, [(str(p), q) for p, q in sorted(items.items())], idempotency_key)

        async def run(seed: Seed | None) -> CartState:
            return await redis_carts.take(sources.redis, key=owner.key, lines=items, ttl_s=owner.ttl_s, seed=seed)

        await _change(info, owner, run)
        return order
    finally:
        with suppress(SourceError):  # it expires anyway; the checkout's own outcome is what the client needs
            await redis_carts.unlock(sources.redis, key=lock, token=token)


async def _order(info: Resolving, order_id: int) -> OrderRecord:
    record = await info.context.loaders.orders.load(order_id)
    if record is None:
        raise NotFound(f"order {order_id} not found")
    return record
