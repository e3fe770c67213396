"""The record store: input records, derived facts, their current states.

Revision ID: 0001
Revises:
Create Date: 2026-12-03

Written out in full (not generated from ``streams/archive/tables.py``): a
migration is what the database went through, and must not change when the
code does. ``tests/streams/archive/test_schema.py`` checks the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TIME, nullable=nullable)


def _tail() -> list[sa.Column]:
    """The whole record, and where and when the sink got it."""
    return [
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", TIME, nullable=False, server_default=sa.func.now()),
    ]


def _tier_columns() -> list[sa.Column]:
    return [
        _text("subject"),
        sa.Column("version", sa.Integer(), nullable=False),
        _text("previous_tier", nullable=True),
        _text("tier"),
        sa.Column("score", DOUBLE_PRECISION(), nullable=False),
        _time("effective_at"),
        _text("policy_version"),
        _text("region"),
        _text("sector"),
        *_tail(),
    ]


def _list_columns() -> list[sa.Column]:
    return [
        _text("subject"),
        _text("list"),
        sa.Column("version", sa.Integer(), nullable=False),
        _text("action"),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("entered_at"),
        _time("expires_at", nullable=True),
        _time("exited_at", nullable=True),
        _text("exit_reason", nullable=True),
        _text("legal_rep_id", nullable=True),
        _text("policy_version"),
        _text("region"),
        _text("sector"),
        *_tail(),
    ]


def _publication_columns() -> list[sa.Column]:
    return [
        _text("subject"),
        _text("event_id"),
        sa.Column("version", sa.Integer(), nullable=False),
        _text("kind"),
        _text("signal"),
        _text("severity"),
        _text("department"),
        _text("sector"),
        _text("region"),
        _text("status"),
        _time("published_from"),
        _time("published_until"),
        _time("repairable_from"),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        _text("reason"),
        _text("cause_event_id", nullable=True),
        _time("changed_at"),
        _text("policy_version"),
        *_tail(),
    ]


PUBLISHED = sa.text("status = 'published'")


def upgrade() -> None:
    # ------------------------------------------------------------ input records
    op.create_table(
        "enforcement_events",
        _text("subject"),
        _text("event_id"),
        _text("kind"),
        _time("occurred_at"),
        _text("department"),
        _text("sector"),
        _text("region"),
        _text("severity", nullable=True),
        _text("commitment_kind", nullable=True),
        _text("result", nullable=True),
        _time("deadline", nullable=True),
        _text("concerns_event_id", nullable=True),
        _text("outcome", nullable=True),
        sa.Column("amount", sa.Numeric(), nullable=True),
        _text("legal_rep_id", nullable=True),
        _text("reference", nullable=True),
        _text("description", nullable=True),
        *_tail(),
        sa.PrimaryKeyConstraint("subject", "event_id"),
    )
    # A subject's records by period, department, kind (officials' record search).
    op.create_index(
        "enforcement_events_subject_time", "enforcement_events", ["subject", "occurred_at"]
    )
    op.create_index(
        "enforcement_events_subject_department_time",
        "enforcement_events",
        ["subject", "department", "occurred_at"],
    )
    op.create_index(
        "enforcement_events_subject_kind_time",
        "enforcement_events",
        ["subject", "kind", "occurred_at"],
    )
    op.create_index("enforcement_events_time", "enforcement_events", ["occurred_at"])
    op.create_index(
        "enforcement_events_concerns",
        "enforcement_events",
        ["subject", "concerns_event_id"],
        postgresql_where=sa.text("concerns_event_id IS NOT NULL"),
    )

    op.create_table(
        "complaints",
        _text("subject"),
        _text("event_id"),
        _text("kind"),
        _text("category"),
        _text("channel"),
        _text("region"),
        _text("sector"),
        _time("received_at"),
        _text("status"),
        sa.Column("amount", sa.Numeric(), nullable=True),
        _text("product", nullable=True),
        *_tail(),
        sa.PrimaryKeyConstraint("subject", "event_id"),
    )
    op.create_index("complaints_subject_time", "complaints", ["subject", "received_at"])
    op.create_index("complaints_time", "complaints", ["received_at"])

    op.create_table(
        "iot_readings",
        _text("subject"),
        _text("event_id"),
        _text("device_id"),
        _text("sector"),
        _text("region"),
        _text("metric"),
        sa.Column("value", DOUBLE_PRECISION(), nullable=False),
        _text("unit"),
        _time("measured_at"),
        sa.Column("limit_value", DOUBLE_PRECISION(), nullable=True),
        *_tail(),
        sa.PrimaryKeyConstraint("subject", "event_id"),
    )
    # Pruning after the IoT retention period deletes by time.
    op.create_index("iot_readings_time", "iot_readings", ["measured_at"])
    op.create_index("iot_readings_subject_time", "iot_readings", ["subject", "measured_at"])

    # ------------------------------------------------------------ derived facts
    op.create_table("tier_changes", *_tier_columns(), sa.PrimaryKeyConstraint("subject", "version"))
    op.create_index("tier_changes_time", "tier_changes", ["effective_at"])
    op.create_table("tier_state", *_tier_columns(), sa.PrimaryKeyConstraint("subject"))
    op.create_index("tier_state_tier", "tier_state", ["tier", "region"])

    op.create_table(
        "list_changes", *_list_columns(), sa.PrimaryKeyConstraint("subject", "list", "version")
    )
    op.create_index("list_changes_time", "list_changes", ["entered_at"])
    op.create_table("list_state", *_list_columns(), sa.PrimaryKeyConstraint("subject", "list"))
    # List entries in force.
    op.create_index(
        "list_state_active",
        "list_state",
        ["list", "entered_at"],
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "workflow_notices",
        _text("notice_id"),
        _text("subject"),
        _text("kind"),
        _text("department"),
        _time("issued_at"),
        _text("concerns_event_id"),
        _time("due_at", nullable=True),
        _time("earliest_eligible_at", nullable=True),
        _text("policy_version"),
        _text("region"),
        _text("sector"),
        *_tail(),
        sa.PrimaryKeyConstraint("notice_id"),
    )
    op.create_index("workflow_notices_subject_time", "workflow_notices", ["subject", "issued_at"])
    op.create_index(
        "workflow_notices_department_time", "workflow_notices", ["department", "issued_at"]
    )

    op.create_table(
        "alert_snapshots",
        _text("alert_id"),
        sa.Column("revision", sa.Integer(), nullable=False),
        _text("dedup_key"),
        _text("subject", nullable=True),
        _text("kind"),
        _text("severity"),
        sa.Column("score", DOUBLE_PRECISION(), nullable=False),
        _text("tier", nullable=True),
        _text("region"),
        _text("sector"),
        _text("status"),
        _text("event"),
        _text("title"),
        _time("created_at"),
        _time("updated_at", nullable=True),
        _text("policy_version"),
        *_tail(),
        sa.PrimaryKeyConstraint("alert_id", "revision"),
    )
    op.create_index("alert_snapshots_subject_time", "alert_snapshots", ["subject", "created_at"])
    op.create_index("alert_snapshots_time", "alert_snapshots", ["created_at"])

    op.create_table(
        "publications",
        *_publication_columns(),
        sa.PrimaryKeyConstraint("subject", "event_id", "version"),
    )
    op.create_index("publications_time", "publications", ["changed_at"])
    op.create_table(
        "publication_state", *_publication_columns(), sa.PrimaryKeyConstraint("subject", "event_id")
    )
    # Publications in force now, city-wide, by department, by county.
    op.create_index(
        "publication_state_in_force",
        "publication_state",
        ["published_until"],
        postgresql_where=PUBLISHED,
    )
    op.create_index(
        "publication_state_department",
        "publication_state",
        ["department", "published_from"],
        postgresql_where=PUBLISHED,
    )
    op.create_index(
        "publication_state_region",
        "publication_state",
        ["region", "published_from"],
        postgresql_where=PUBLISHED,
    )

    op.create_table(
        "spotcheck_plans",
        _text("region"),
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        _text("policy_version"),
        sa.Column("task_count", sa.Integer(), nullable=False),
        *_tail(),
        sa.PrimaryKeyConstraint("region", "plan_date"),
    )


def downgrade() -> None:
    for table in (
        "spotcheck_plans",
        "publication_state",
        "publications",
        "alert_snapshots",
        "workflow_notices",
        "list_state",
        "list_changes",
        "tier_state",
        "tier_changes",
        "iot_readings",
        "complaints",
        "enforcement_events",
    ):
        op.drop_table(table)
