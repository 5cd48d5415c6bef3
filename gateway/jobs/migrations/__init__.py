"""Alembic migrations of the MySQL schema (``gateway migrate``). Revisions live in versions/."""
