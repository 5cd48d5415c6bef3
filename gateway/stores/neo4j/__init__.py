"""Neo4j: the client (client.py), constraints (schema.py), and one module per concern."""
