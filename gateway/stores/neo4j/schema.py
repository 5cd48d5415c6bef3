"""Neo4j uniqueness constraints: (:User {id}), (:Product {id}), (:Category {id}) (each also backs an index)."""

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
    return created


async def constraint_names(driver: AsyncDriver, database: str) -> set[str]:
    result = await driver.execute_query(
        "SHOW CONSTRAINTS YIELD name RETURN name", database_=database, routing_=RoutingControl.READ
    )
    return {record["name"] for record in result.records}
