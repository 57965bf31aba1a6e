"""A dataset's size in bytes as a 64-bit integer, as a prediction file's already is.

``datasets.size_bytes`` was a 32-bit ``INTEGER``: on PostgreSQL a file over 2 GiB failed its
registration with an overflow. SQLite's integers are 64-bit whatever the declared type, so
the SQLite store is left as it is: changing a declared type there means rebuilding the table,
and dropping the old ``datasets`` would cascade to the predictions and test runs that refer to
it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_dataset_size_bigint"
down_revision = "0004_i8_categories"
branch_labels = None
depends_on = None


def _set_type(new: sa.types.TypeEngine[int], old: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    with op.batch_alter_table("datasets") as batch:
        batch.alter_column("size_bytes", type_=new, existing_type=old, existing_nullable=True)


def upgrade() -> None:
    _set_type(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _set_type(sa.Integer(), sa.BigInteger())
