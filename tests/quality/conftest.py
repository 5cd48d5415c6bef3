"""A toy MovieLens, split leave-last-out and seeded into the shared test stores next to MovieLens-100K, under ids
above every id any store holds (MySQL's test database and the one Neo4j graph everyone shares), and removed
afterwards from every store and from the entity cache.

36 users in three taste groups rate 8 to 12 of 24 films over a few days; some users' last ratings share a second,
so the split's tie-break (the higher item id is the last) is exercised through the stores too. The films are only
the toy users', so the graph strategies see the toy world alone (POPULAR ranks the whole graph's best sellers).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from sqlalchemy import delete, func, select

from gateway.config import Settings
from gateway.jobs.datasets import movielens
from gateway.jobs.datasets.holdout import leave_last_out, training_times
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.seeding import Seeder, SeedReport
from gateway.stores import Sources
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mongo.schema import EVENTS, PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.stores.mysql import tables as t
from gateway.stores.neo4j import bulk as neo4j_bulk
from loaders.cached import invalidate

USERS, FILMS, GROUPS = 36, 24, 3
DAY = 86_400
START = 1_600_000_000  # 2020-09-13


@dataclass(frozen=True, slots=True)
class Toy:
    base: int  # ids are base + 1 .. : users, films and orders alike
    texts: dict[str, str]  # the whole toy ml-100k, before the split
    dataset: Dataset  # what was seeded: the toy without the held-out ratings
    held_out: dict[int, int]  # user -> film
    train: dict[int, dict[int, float]]  # user -> film -> time of the rating

    @property
    def users(self) -> list[int]:
        return sorted(self.train)

    @property
    def films(self) -> list[int]:
        return sorted(product.id for product in self.dataset.products)


def toy_texts(base: int, seed: int = 7) -> dict[str, str]:
    """The toy as ml-100k files. User u (from 0) is in group u % 3 and rates mostly that group's films; every
    fourth user rates their last two films in the same second."""
    rng = random.Random(seed)
    users = [f"{base + u}\t30\tF\tother\t00000" for u in range(1, USERS + 1)]
    films = [f"{base + f}\tToy film {f}\t2020\tAction" for f in range(1, FILMS + 1)]
    lines = []
    for u in range(USERS):
        own = [f for f in range(FILMS) if f % GROUPS == u % GROUPS]
        others = [f for f in range(FILMS) if f % GROUPS != u % GROUPS]
        chosen = rng.sample(own, rng.randint(5, len(own))) + rng.sample(others, rng.randint(2, 4))
        rng.shuffle(chosen)
        moment = START + u * 600
        for k, f in enumerate(chosen):
            if not (u % 4 == 0 and k == len(chosen) - 1):  # else: the same second as the previous rating
                moment += rng.choice((60, 3_600, DAY))
            lines.append(f"{base + u + 1}\t{base + f + 1}\t{rng.randint(1, 5)}\t{moment}")
    return {
        "ml-100k.user": "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n" + "\n".join(users),
        "ml-100k.item": "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        + "\n".join(films),
        "ml-100k.inter": "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "\n".join(lines),
    }


async def free_base(sources: Sources) -> int:
    """A round id above every user, product and order id in MySQL's test database and in the shared graph."""
    async with sources.mysql.engine.connect() as conn:
        highest = [
            (await conn.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
            for table in (t.users, t.products, t.orders)
        ]
    async with sources.neo4j.driver.session(database=sources.neo4j.database) as session:
        result = await session.run(
            "CALL () { MATCH (u:User) RETURN max(u.id) AS id UNION ALL MATCH (p:Product) RETURN max(p.id) AS id "
            "UNION ALL MATCH ()-[e:PURCHASED]->() RETURN max(e.order_id) AS id } RETURN max(id) AS id"
        )
        record = await result.single()
    highest.append((record["id"] or 0) if record else 0)
    return (max(highest) // 1000 + 2) * 1000


def split_toy(base: int) -> Toy:
    texts = toy_texts(base)
    split = leave_last_out(texts)
    dataset = movielens.load_from_texts(split.texts)
    assert not dataset.problems, dataset.problems
    orders = [dataclasses.replace(order, id=base + order.id) for order in dataset.orders]  # ids 1.. are taken
    dataset = dataclasses.replace(dataset, name="toy", orders=orders)
    return Toy(base, texts, dataset, split.held_out, training_times(dataset.ratings))


async def remove(sources: Sources, settings: Settings, toy: Toy) -> None:
    """Every row, document, node, edge and cache entry of the toy's users, films and orders."""
    users, films, orders = toy.users, toy.films, [order.id for order in toy.dataset.orders]
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(delete(t.ratings).where(t.ratings.c.user_id.in_(users)))
        await conn.execute(delete(t.order_items).where(t.order_items.c.order_id.in_(orders)))
        await conn.execute(delete(t.orders).where(t.orders.c.user_id.in_(users)))
        await conn.execute(delete(t.inventory).where(t.inventory.c.product_id.in_(films)))
        await conn.execute(delete(t.product_categories).where(t.product_categories.c.product_id.in_(films)))
        await conn.execute(delete(t.products).where(t.products.c.id.in_(films)))
        await conn.execute(delete(t.users).where(t.users.c.id.in_(users)))
    for collection in (PRODUCT_ATTRIBUTES, PRODUCT_METRICS):
        await mongo_bulk.delete_ids(sources.mongodb, collection, films)
    await mongo_bulk.delete_ids(sources.mongodb, USER_PROFILES, users)
    await sources.mongodb.db[EVENTS].delete_many({"user_id": {"$in": users}})
    cypher = "MATCH (n) WHERE (n:User AND n.id IN $users) OR (n:Product AND n.id IN $films) DETACH DELETE n"
    await neo4j_bulk.run(sources.neo4j, cypher, users=users, films=films)
    entities = [(kind, user) for user in users for kind in ("user", "recommendations")]
    assert await invalidate(sources, settings, entities + [("product", film) for film in films])


@pytest_asyncio.fixture(scope="module")
async def toy(settings: Settings, sources: Sources, seeded: SeedReport) -> AsyncIterator[Toy]:
    """The toy split, seeded (after MovieLens, so its categories exist), and removed after the module."""
    data = split_toy(await free_base(sources))
    try:
        report = await Seeder(sources, progress=False).seed(data.dataset)
        assert not report.problems, report.problems[:3]
        yield data
    finally:
        await remove(sources, settings, data)
