"""Cases (issue 17): every version of a case (risk.cases), the latest per case, and the
files attached to cases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

``case_versions`` keeps every version of a case as published (keyed by case id and
revision), ``case_state`` the latest per case, both written by the sink.
``case_attachments`` holds the files officials attach to a case, written by the
worker's API (``streams/http/cases.py``) before the case names them; the case
carries each one's id, name, size and SHA-256, the store its bytes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _case_columns() -> list[sa.Column]:
    return [
        _text("case_id"),
        sa.Column("revision", sa.Integer(), nullable=False),
        _text("case_key"),
        _text("subject", nullable=True),
        _text("queue"),
        _text("owner", nullable=True),
        _text("status"),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("escalated_at", TIME, nullable=True),
        sa.Column("closed_at", TIME, nullable=True),
        _text("region"),
        _text("sector"),
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", TIME, nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "case_versions", *_case_columns(), sa.PrimaryKeyConstraint("case_id", "revision")
    )
    op.create_table("case_state", *_case_columns(), sa.PrimaryKeyConstraint("case_id"))
    op.create_index("case_state_subject", "case_state", ["subject", "opened_at"])
    op.create_table(
        "case_attachments",
        _text("attachment_id"),
        _text("case_id"),
        _text("name"),
        _text("media_type"),
        sa.Column("size", sa.Integer(), nullable=False),
        _text("sha256"),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _text("uploaded_by"),
        sa.Column("uploaded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("attachment_id"),
    )
    op.create_index("case_attachments_case", "case_attachments", ["case_id", "uploaded_at"])


def downgrade() -> None:
    op.drop_table("case_attachments")
    op.drop_table("case_state")
    op.drop_table("case_versions")
