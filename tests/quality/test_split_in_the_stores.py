"""The split as the stores hold it: no held-out (user, product) pair in MySQL, MongoDB or Neo4j, the check that
says so finds a pair wherever one is put back, and of two ratings in one second the higher film is held out."""

from __future__ import annotations

from datetime import UTC, datetime

from evaluation import held_out_present  # bench/evaluation.py
from sqlalchemy import delete, insert, select

from gateway.jobs.datasets import holdout
from gateway.stores import Sources
from gateway.stores.mongo.schema import EVENTS
from gateway.stores.mysql import tables as t
from tests.quality.conftest import Toy

NOTHING = {"mysql ratings": 0, "mysql order_items": 0, "mongodb events": 0}


async def test_no_store_holds_a_held_out_pair_and_each_holds_the_training_pairs(sources: Sources, toy: Toy) -> None:
    assert len(toy.held_out) == len(toy.users) == 36
    assert await held_out_present(sources, sorted(toy.held_out.items())) == NOTHING  # and no Neo4j edge of any type
    latest = holdout.latest(toy.train)
    n = len(latest)
    assert await held_out_present(sources, sorted(latest.items())) == {
        "mysql ratings": n,
        "mysql order_items": n,
        "mongodb events": 0,  # seeding writes no events
        "neo4j RATED": n,
        "neo4j PURCHASED": n,
    }


async def test_of_two_ratings_in_one_second_the_higher_film_is_held_out(sources: Sources, toy: Toy) -> None:
    rated: dict[int, list[tuple[int, int]]] = {}
    for line in toy.texts["ml-100k.inter"].splitlines()[1:]:
        user, film, _rating, at = (int(field) for field in line.split("\t"))
        rated.setdefault(user, []).append((at, film))
    ties = {user: sorted(film for at, film in films if at == max(films)[0]) for user, films in rated.items()}
    ties = {user: films for user, films in ties.items() if len(films) > 1}
    assert len(ties) >= 5
    async with sources.mysql.engine.connect() as conn:
        stored = {tuple(row) for row in await conn.execute(select(t.ratings.c.user_id, t.ratings.c.product_id))}
    for user, films in ties.items():
        assert toy.held_out[user] == films[-1]
        assert (user, films[-1]) not in stored
        assert (user, films[-2]) in stored  # the other rating of that second is training data


async def test_a_held_out_pair_put_back_is_found_in_every_store(sources: Sources, toy: Toy) -> None:
    user, film = sorted(toy.held_out.items())[0]
    order_id = toy.base + 999  # above the toy's orders, below the next thousand
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        async with sources.mysql.engine.begin() as conn:
            await conn.execute(insert(t.ratings).values(user_id=user, product_id=film, rating=3, created_at=now))
            await conn.execute(
                insert(t.orders).values(
                    id=order_id, user_id=user, status="paid", total_cents=100, idempotency_key=f"leak-{order_id}"
                )
            )
            await conn.execute(
                insert(t.order_items).values(order_id=order_id, product_id=film, quantity=1, unit_price_cents=100)
            )
        event = {"user_id": user, "product_id": film, "type": "view", "session_id": "leak", "ts": now}
        await sources.mongodb.db[EVENTS].insert_one(event)
        async with sources.neo4j.driver.session(database=sources.neo4j.database) as session:
            cypher = "MATCH (u:User {id: $user}), (p:Product {id: $film}) CREATE (p)-[:SEEN_BY]->(u)"
            await (await session.run(cypher, user=user, film=film)).consume()
        assert await held_out_present(sources, [(user, film)]) == {
            "mysql ratings": 1,
            "mysql order_items": 1,
            "mongodb events": 1,
            "neo4j SEEN_BY": 1,  # any type, either direction
        }
    finally:
        async with sources.mysql.engine.begin() as conn:
            await conn.execute(delete(t.ratings).where(t.ratings.c.user_id == user, t.ratings.c.product_id == film))
            await conn.execute(delete(t.order_items).where(t.order_items.c.order_id == order_id))
            await conn.execute(delete(t.orders).where(t.orders.c.id == order_id))
        await sources.mongodb.db[EVENTS].delete_many({"session_id": "leak", "user_id": user})
        async with sources.neo4j.driver.session(database=sources.neo4j.database) as session:
            cypher = "MATCH (:Product {id: $film})-[e:SEEN_BY]->(:User {id: $user}) DELETE e"
            await (await session.run(cypher, user=user, film=film)).consume()
    assert await held_out_present(sources, [(user, film)]) == NOTHING
