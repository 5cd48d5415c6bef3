"""The floor: the benches' three pages answered by a bare Starlette endpoint, with the drivers themselves.

    GET /orders?user=655&n=100    a user's newest n orders, each with its user's name and its lines' quantity,
                                  product title and price (4 SQL statements, as the gateway with caches off)
    GET /product?id=1             bench/pages.PRODUCT_PAGE: the product, its categories, MongoDB attributes and
                                  metrics, what is bought with it (Neo4j) and those products
    GET /user?id=1                bench/pages.USER_PAGE: 20 orders with lines and products, 10 recommendations
                                  (Neo4j, the gateway's GRAPH strategy) with their products

Each answers the JSON the gateway answers for the same GraphQL query (bench/executor.py checks it byte for byte
before measuring), reading the same rows with the same statements and queries, with no GraphQL, no ORM, no
cache: what a hand-written endpoint costs. asyncmy for MySQL (no SQLAlchemy), PyMongo's AsyncMongoClient, the
neo4j driver; the Cypher is the gateway's own text. Served by uvicorn like the gateway:

    .venv/bin/uvicorn --app-dir bench floor:app --port 8900
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import orjson
from neo4j import AsyncGraphDatabase
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.config import Settings
from gateway.stores.neo4j import reads as neo4j_reads
from gateway.stores.neo4j import recommendations as neo4j_recommendations

_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
USER = "SELECT id, email, name, age, gender, occupation, zip_code, created_at FROM users WHERE id = %s"
PRODUCTS = "SELECT id, sku, title, price_cents, currency, release_year, created_at, updated_at FROM products"
ITEMS = "SELECT order_id, product_id, quantity, unit_price_cents FROM order_items"
ORDERS = (
    "SELECT id, user_id, status, total_cents, created_at FROM (SELECT id, user_id, status, total_cents, created_at, "
    "row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS rn FROM orders "
    "WHERE user_id IN (%s)) AS ranked WHERE rn <= %s ORDER BY user_id, rn"
)
CATEGORIES = (
    "SELECT pc.product_id, c.id, c.name, c.parent_id FROM product_categories pc JOIN categories c "
    "ON c.id = pc.category_id WHERE pc.product_id IN (%s) ORDER BY pc.product_id, c.id"
)


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def iso(naive: datetime) -> str:
    return (_EPOCH + (naive - _NAIVE_EPOCH)).isoformat()


def in_list(ids: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in ids) or "NULL"


class Stores:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mysql: Any = None
        url = urlsplit(settings.mysql_url)
        self.mysql_args = {
            "host": url.hostname,
            "port": url.port or 3306,
            "user": url.username,
            "password": settings.mysql_password.get_secret_value(),
            "db": settings.mysql_database,
        }
        self.mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url)
        self.db = self.mongo[settings.mongo_database]
        auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
        self.neo4j = AsyncGraphDatabase.driver(settings.neo4j_url, auth=auth)

    async def open(self) -> None:
        self.mysql = await asyncmy.create_pool(minsize=1, maxsize=self.settings.mysql_pool_size, **self.mysql_args)

    async def close(self) -> None:
        self.mysql.close()
        await self.mysql.wait_closed()
        await self.mongo.close()
        await self.neo4j.close()

    async def sql(self, statement: str, args: Any = None) -> Sequence[tuple[Any, ...]]:
        async with self.mysql.acquire() as conn, conn.cursor() as cursor:
            await cursor.execute(statement, args)
            rows: Sequence[tuple[Any, ...]] = await cursor.fetchall()
            return rows

    async def cypher(self, query: Any, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = await self.neo4j.execute_query(query, params, database_=self.settings.neo4j_database)
        return [record.data() for record in records]

    async def products(self, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        if not ids:
            return {}
        return {row[0]: row for row in await self.sql(f"{PRODUCTS} WHERE id IN ({in_list(ids)})")}

    async def orders_with_lines(
        self, user_id: int, n: int
    ) -> tuple[Sequence[tuple[Any, ...]], dict[int, list[tuple[Any, ...]]], dict[int, tuple[Any, ...]]]:
        """The user's newest n orders (n + 1 read, as the gateway does for hasNextPage), their lines, products."""
        orders = list(await self.sql(ORDERS % (int(user_id), int(n) + 1)))[:n]
        lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        if orders:
            statement = f"{ITEMS} WHERE order_id IN ({in_list([o[0] for o in orders])}) ORDER BY order_id, product_id"
            for row in await self.sql(statement):
                lines[row[0]].append(row)
        products = await self.products(sorted({line[1] for rows in lines.values() for line in rows}))
        return orders, lines, products


async def orders_page(request: Request) -> Response:
    stores: Stores = request.app.state.stores
    user_id, n = int(request.query_params["user"]), int(request.query_params.get("n", "100"))
    (user,) = await stores.sql(USER, (user_id,))
    orders, lines, products = await stores.orders_with_lines(user_id, n)
    name = {"name": user[2]}
    edges = [
        {
            "node": {
                "id": str(o[0]),
                "user": name,
                "items": [
                    {
                        "quantity": line[2],
                        "product": {"title": products[line[1]][2], "price": money(products[line[1]][3])},
                    }
                    for line in lines[o[0]]
                ],
            }
        }
        for o in orders
    ]
    return _json({"data": {"user": {"orders": {"edges": edges}}}})


async def product_page(request: Request) -> Response:
    stores: Stores = request.app.state.stores
    product_id = int(request.query_params["id"])
    (row,) = (await stores.products([product_id])).values()
    categories = await stores.sql(CATEGORIES % int(product_id))
    document = await stores.db["product_attributes"].find_one({"_id": product_id})
    metrics = await stores.db["product_metrics"].find_one({"_id": product_id})
    (together,) = await stores.cypher(
        neo4j_reads.BOUGHT_TOGETHER, ids=[product_id], limit=5, fanout=neo4j_reads.FANOUT
    ) or [{"items": []}]
    others = await stores.products([item["id"] for item in together["items"]])
    page = {
        "id": str(row[0]),
        "title": row[2],
        "price": money(row[3]),
        "categories": [{"name": c[2]} for c in categories],
        "attributes": None if document is None else document.get("attributes", {}),
        "rating": None
        if metrics is None
        else {"average": metrics.get("rating_avg"), "count": metrics.get("rating_count", 0)},
        "boughtTogether": [
            {"id": str(p[0]), "title": p[2], "price": money(p[3])}
            for p in (others.get(item["id"]) for item in together["items"])
            if p is not None
        ],
    }
    return _json({"data": {"product": page}})


async def user_page(request: Request) -> Response:
    stores: Stores = request.app.state.stores
    user_id = int(request.query_params["id"])
    (user,) = await stores.sql(USER, (user_id,))
    orders, lines, products = await stores.orders_with_lines(user_id, 20)
    r = neo4j_recommendations
    params = {
        "recent": r.RECENT,
        "decay": 0.5 ** (1 / r.HALF_LIFE),
        "neighbours": r.GRAPH_NEIGHBOURS,
        "fanout": neo4j_reads.FANOUT,
    }
    (found,) = await stores.cypher(r.GRAPH, ids=[user_id], limit=10, **params)
    recommended = await stores.products([item["id"] for item in found["items"]])
    nodes = [
        {
            "id": str(o[0]),
            "status": o[2].upper(),
            "total": money(o[3]),
            "createdAt": iso(o[4]),
            "items": [
                {
                    "quantity": line[2],
                    "unitPrice": money(line[3]),
                    "product": {
                        "id": str(line[1]),
                        "title": products[line[1]][2],
                        "price": money(products[line[1]][3]),
                    },
                }
                for line in lines[o[0]]
            ],
        }
        for o in orders
    ]
    recommendations = [
        {
            "score": float(item["score"]),
            "reason": f"Chosen by {item['people']} of the {item['neighbours']} customers whose purchases best match "
            "your most recent ones",
            "product": {"id": str(p[0]), "title": p[2], "price": money(p[3])} if p is not None else None,
        }
        for item, p in ((item, recommended.get(item["id"])) for item in found["items"])
    ]
    body = {"id": str(user[0]), "name": user[2], "orders": {"nodes": nodes}, "recommendations": recommendations}
    return _json({"data": {"user": body}})


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    stores = Stores(Settings())
    await stores.open()
    app.state.stores = stores
    try:
        yield
    finally:
        await stores.close()


app = Starlette(
    routes=[
        Route("/orders", orders_page, methods=["GET"]),
        Route("/product", product_page, methods=["GET"]),
        Route("/user", user_page, methods=["GET"]),
        Route("/health", lambda request: Response(b"ok"), methods=["GET"]),
    ],
    lifespan=lifespan,
)
