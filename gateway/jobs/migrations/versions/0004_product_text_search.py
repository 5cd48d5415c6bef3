"""Text search: a FULLTEXT index on the product title, which ``products(filter: {text})`` matches and ranks by
relevance (MATCH … AGAINST in natural language mode). The description lives in MongoDB, not here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ft_products_title", "products", ["title"], mysql_prefix="FULLTEXT")


def downgrade() -> None:
    op.drop_index("ft_products_title", table_name="products")
