"""Polyglot GraphQL gateway: one schema over MySQL, MongoDB, Neo4j and Redis."""
