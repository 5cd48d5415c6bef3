"""Datasets for demos, tests and benchmarks, parsed into store-neutral rows (rows.py)."""
