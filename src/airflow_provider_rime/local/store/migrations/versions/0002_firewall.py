"""the AI Firewall: continuous tests, their bins, monitors and detection events

Revision ID: 0002_i8_firewall
Revises: 0001
Create Date: 2026-12-01 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_i8_firewall"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firewalls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("ref_data_id", sa.String(length=36), nullable=False),
        sa.Column("bin_size_seconds", sa.Integer(), nullable=False),
        sa.Column("scheduled_ct_info", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id"),
    )
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("firewall_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("bin_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("bin_end", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_test_runs_firewall_id"), ["firewall_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_test_runs_firewall_id", "firewalls", ["firewall_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("firewall_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric_name", sa.String(length=200), nullable=False),
        sa.Column("monitor_type", sa.String(length=40), nullable=False),
        sa.Column("risk_category", sa.String(length=64), nullable=False),
        sa.Column("test_category", sa.String(length=64), nullable=False),
        sa.Column("artifact", sa.JSON(), nullable=False),
        sa.Column("threshold_type", sa.String(length=40), nullable=False),
        sa.Column("warning", sa.Float(), nullable=True),
        sa.Column("alert", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["firewall_id"], ["firewalls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firewall_id", "key", name="uq_monitors_firewall_key"),
    )
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitors_firewall_id"), ["firewall_id"], unique=False)
    op.create_table(
        "monitor_values",
        sa.Column("monitor_id", sa.String(length=36), nullable=False),
        sa.Column("test_run_id", sa.String(length=36), nullable=False),
        sa.Column("bin_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bin_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["test_run_id"], ["test_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("monitor_id", "test_run_id"),
    )
    with op.batch_alter_table("monitor_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_values_test_run_id"), ["test_run_id"], unique=False)
    op.create_table(
        "detection_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("firewall_id", sa.String(length=36), nullable=False),
        sa.Column("monitor_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("risk_category", sa.String(length=64), nullable=False),
        sa.Column("test_category", sa.String(length=64), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("last_update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["firewall_id"], ["firewalls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("detection_events", schema=None) as batch_op:
        batch_op.create_index("ix_detection_events_project_end", ["project_id", "end_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_detection_events_firewall_id"), ["firewall_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_detection_events_monitor_id"), ["monitor_id"], unique=False)


def downgrade() -> None:
    op.drop_table("detection_events")
    op.drop_table("monitor_values")
    op.drop_table("monitors")
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_test_runs_firewall_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_test_runs_firewall_id"))
        batch_op.drop_column("bin_end")
        batch_op.drop_column("bin_start")
        batch_op.drop_column("firewall_id")
    op.drop_table("firewalls")
