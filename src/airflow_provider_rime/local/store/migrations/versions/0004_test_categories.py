"""Project test categories: the stress and continuous test categories a project chose.

Two nullable JSON columns of ``projects``; ``NULL`` keeps the engine's defaults.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_i8_categories"
down_revision = "0002_i10_digests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding nullable columns needs no table rebuild, on SQLite either.
    for column in ("stress_test_categories", "continuous_test_categories"):
        op.add_column("projects", sa.Column(column, sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("continuous_test_categories")
        batch.drop_column("stress_test_categories")
