"""Sector evaluations (evaluations.sector): state and provincial grades of key-sector subjects.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Seed 六. ``sector_evaluations`` keeps every evaluation record as it came
(keyed like every input record, by subject and event id), with a subject's
evaluations indexed by time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sector_evaluations",
        _text("subject"),
        _text("event_id"),
        _text("sector"),
        _text("level"),
        _text("evaluator"),
        _text("grade"),
        sa.Column("evaluated_at", TIME, nullable=False),
        sa.Column("valid_until", TIME, nullable=True),
        _text("region"),
        _text("reference", nullable=True),
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", TIME, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("subject", "event_id"),
    )
    op.create_index(
        "sector_evaluations_subject_time", "sector_evaluations", ["subject", "evaluated_at"]
    )


def downgrade() -> None:
    op.drop_table("sector_evaluations")
