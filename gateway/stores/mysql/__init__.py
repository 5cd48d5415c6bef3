"""MySQL / MariaDB, the system of record: the client (client.py), its tables (tables.py), and one module per concern."""
