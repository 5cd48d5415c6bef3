"""Redis: the client (client.py), and one module per concern (caches, carts, persisted queries, pub/sub)."""
