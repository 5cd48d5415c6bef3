"""Carts (their lines: product id → quantity) and cart lines ((product id, quantity)); prices are the current
ones, read through the products loader."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf
from engine.fields.parts import PRODUCT_PARTS


def _lines(call: Call, lines: dict[int, int], args: Args) -> list[tuple[int, int]]:
    return sorted(lines.items())


async def _products(call: Call, ids: list[int], *, rows: bool = False) -> dict[int, Any]:
    """The products of these ids (``rows``: their MySQL rows are all the caller reads of them)."""
    unique = list(dict.fromkeys(ids))
    loader = call.context.loaders.product_rows if rows else call.context.loaders.products
    return dict(zip(unique, await loader.get_many(unique), strict=True)) if unique else {}


async def _subtotal(call: Call, carts: list[dict[int, int]], args: Args) -> list[Any]:
    found = await _products(call, sorted({p for lines in carts for p in lines}), rows=True)
    totals: list[Any] = []
    for lines in carts:
        records = [found[p] for p in sorted(lines)]
        failed = next((r for r in records if isinstance(r, BaseException)), None)
        totals.append(failed or sum(r.price_cents * lines[r.id] for r in records if r is not None))
    return totals


async def _product(call: Call, lines: list[tuple[int, int]], args: Args) -> list[Any]:
    found = await _products(call, [p for p, _ in lines])
    return [found[p] for p, _ in lines]


async def _product_row(call: Call, lines: list[tuple[int, int]], args: Args) -> list[Any]:
    found = await _products(call, [p for p, _ in lines], rows=True)
    return [found[p] for p, _ in lines]


async def _line_total(call: Call, lines: list[tuple[int, int]], args: Args) -> list[Any]:
    found = await _products(call, [p for p, _ in lines], rows=True)
    totals: list[Any] = []
    for p, quantity in lines:
        record = found[p]
        totals.append(record if record is None or isinstance(record, BaseException) else record.price_cents * quantity)
    return totals


FIELDS: dict[str, Impl] = {
    "Cart.items": Each(_lines),
    "Cart.totalQuantity": Leaf("sum(s.values())"),
    "Cart.subtotal": Batch(_subtotal),
    "CartItem.quantity": Leaf("s[1]"),
    "CartItem.product": Batch(_product, _product_row, PRODUCT_PARTS),
    "CartItem.lineTotal": Batch(_line_total),
}
