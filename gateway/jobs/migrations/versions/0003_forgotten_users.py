"""Forgotten users: ``deleteUser`` anonymises the row (orders keep pointing at it, with their totals) and marks
when; reads and reconcile leave such rows out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("users", sa.Column("deleted_at", TS))


def downgrade() -> None:
    op.drop_column("users", "deleted_at")
