"""content digests: what validation saw of each registered data and predictions file

Revision ID: 0002_i10_digests
Revises: 0002_i8_firewall
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_i10_digests"
down_revision = "0002_i8_firewall"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("content_digest")
        batch.drop_column("size_bytes")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("content_digest")
