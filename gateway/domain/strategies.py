"""How a list of recommendations is chosen (each one Cypher query: gateway/stores/neo4j/recommendations.py)."""

from __future__ import annotations

from typing import Literal

Strategy = Literal["graph", "similar_users", "popular"]
DEFAULT_STRATEGY: Strategy = "graph"
