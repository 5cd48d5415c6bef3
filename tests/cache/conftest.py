"""The write tests' own products (tests/writes/conftest.py), for the cache's mutation and relay tests."""

from tests.writes.conftest import stocked

__all__ = ["stocked"]
