"""Neo4j uniqueness constraints: (:User {id}), (:Product {id}), (:Category {id}) (each also backs an index), and
the range index on :Product(units) that orders the popular products."""

from __future__ import annotations

from neo4j import AsyncDriver, RoutingControl

LABELS = ("User", "Product", "Category")


async def ensure_constraints(driver: AsyncDriver, database: str) -> list[str]:
    """Create the missing constraints (idempotent); returns the names created."""
    created: list[str] = []
    for label in LABELS:
        name = f"{label.lower()}_id_unique"
        summary = await driver.execute_query(
            f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE",
            database_=database,
            routing_=RoutingControl.WRITE,  # schema changes go to the leader
        )
        if summary.summary.counters.constraints_added:
            created.append(name)
    summary = await driver.execute_query(  # the popular products' order (popularity.py)
        "CREATE INDEX product_units IF NOT EXISTS FOR (p:Product) ON (p.units)",
        database_=database,
        routing_=RoutingControl.WRITE,
    )
    if summary.summary.counters.indexes_added:
        created.append("product_units")
    return created


async def constraint_names(driver: AsyncDriver, database: str) -> set[str]:
    result = await driver.execute_query(
        "SHOW CONSTRAINTS YIELD name RETURN name", database_=database, routing_=RoutingControl.READ
    )
    return {record["name"] for record in result.records}
