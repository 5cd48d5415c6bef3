"""The fields of a product and of a user that need more than its MySQL row: a plan that selects none of them
reads the row alone from MySQL (engine/fields/base.Batch.narrow), the others the merged entity."""

from __future__ import annotations

PRODUCT_PARTS = frozenset({"attributes", "description", "tags", "rating", "popularity"})  # MongoDB
USER_PARTS = frozenset({"profile"})  # MongoDB
