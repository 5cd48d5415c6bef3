"""Writes: an order remembers the fingerprint of the request that created it (idempotency), and the outbox
records who holds a claim and which events are parked.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("orders", sa.Column("request_hash", sa.String(64)))
    op.add_column("outbox", sa.Column("claimed_by", sa.String(64)))
    op.add_column("outbox", sa.Column("parked_at", TS))


def downgrade() -> None:
    op.drop_column("outbox", "parked_at")
    op.drop_column("outbox", "claimed_by")
    op.drop_column("orders", "request_hash")
