"""The three main pages bench/scale.py measures, and how one answer is judged.

    product   a product with its attributes and rating (MongoDB), categories, and what is bought with it (Neo4j)
    user      a user with their 20 newest orders, every line's product, and 10 recommendations (Neo4j)
    order     an order with its lines, their products, and its owner

The user page and the order page are private: each is sent as its owner (a token minted per user). An answer
counts as a success only when it is HTTP 200, carries no ``errors`` and its root field is not null; anything else
is an error, named by its status and the first error's code and store, and never becomes a latency.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from cache import error_text  # bench/ is sys.path[0] when run as a script

from gateway.auth import mint
from gateway.config import Settings

PRODUCT_PAGE = (
    "query ProductPage($id: ID!) { product(id: $id) { id title price categories { name } attributes "
    "rating { average count } boughtTogether(limit: 5) { id title price } } }"
)
USER_PAGE = (
    "query UserPage($id: ID!) { user(id: $id) { id name orders(first: 20) { nodes { id status total createdAt "
    "items { quantity unitPrice product { id title price } } } } "
    "recommendations(limit: 10) { score reason product { id title price } } } }"
)
ORDER_PAGE = (
    "query OrderPage($id: ID!) { order(id: $id) { id status total createdAt user { id name } "
    "items { quantity unitPrice lineTotal product { id title price attributes } } } }"
)
QUERIES = {"product": PRODUCT_PAGE, "user": USER_PAGE, "order": ORDER_PAGE}
KINDS = tuple(QUERIES)
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
TOKEN_TTL_S = 6 * 3600


@dataclass(frozen=True, slots=True)
class Request:
    kind: str
    key: int  # the product, user or order id
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    ms: float
    error: str | None  # None: a complete answer
    explain: dict[str, Any] | None = None


def request(kind: str, key: int, *, owner: int | None = None, settings: Settings | None = None) -> Request:
    """The page ``kind`` of ``key``; the user and order pages are sent as ``owner`` (the user themself for a
    user page), with a token signed with ``settings``' secret."""
    body = orjson.dumps({"query": QUERIES[kind], "variables": {"id": str(key)}})
    headers = dict(JSON)
    if kind != "product":
        if settings is None:
            raise ValueError(f"the {kind} page is private: it needs the settings to sign a token")
        user = key if kind == "user" else owner
        if user is None:
            raise ValueError("an order page needs its owner")
        headers["Authorization"] = f"Bearer {mint(settings, user, ttl_s=TOKEN_TTL_S)}"
    return Request(kind, key, body, headers)


def judge(kind: str, status: int, content: bytes) -> str | None:
    """None for a complete answer; otherwise what went wrong, e.g. ``HTTP 200 TIMEOUT neo4j``."""
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        return f"HTTP {status} not JSON"
    if not isinstance(payload, dict):
        return f"HTTP {status} not an object"
    errors = payload.get("errors") or []
    if status != 200 or errors:
        return error_text(status, errors)
    data = payload.get("data") or {}
    if data.get(kind) is None:  # the page's root field is named as the page
        return f"HTTP {status} {kind} null"
    return None


async def send(http: httpx.AsyncClient, req: Request, *, explain: bool = False) -> Outcome:
    """POST one page; its latency (sending to whole answer) and whether it failed. Transport errors count."""
    headers = {**req.headers, "X-Gateway-Explain": "1"} if explain else req.headers
    start = time.perf_counter()
    try:
        response = await http.post("/graphql", content=req.body, headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(req.kind, (time.perf_counter() - start) * 1000, type(exc).__name__)
    ms = (time.perf_counter() - start) * 1000
    error = judge(req.kind, response.status_code, response.content)
    plan = orjson.loads(response.content).get("extensions", {}).get("explain") if explain and not error else None
    return Outcome(req.kind, ms, error, plan)


def spread(candidates: Sequence[int], count: int, seed: int) -> list[int]:
    """``count`` ids drawn without replacement from ``candidates`` (all of them when there are fewer), sorted:
    spread over the data, the same for the same arguments."""
    if len(candidates) <= count:
        return sorted(candidates)
    return sorted(random.Random(seed).sample(list(candidates), count))


def schedule(requests: Sequence[Request], total: int, seed: int) -> list[Request]:
    """``total`` requests cycling through ``requests`` in shuffled rounds (each key as often as the others)."""
    rng = random.Random(seed)
    out: list[Request] = []
    while len(out) < total:
        round_ = list(requests)
        rng.shuffle(round_)
        out += round_[: total - len(out)]
    return out
