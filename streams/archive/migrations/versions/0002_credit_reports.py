"""Issued credit reports: number, subject, validity, SHA-256 of the PDF (risk.credit-reports).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

The public verification page (``/reports/{number}``) looks a report up by its
number; a subject's reports are listed by issue time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credit_reports",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("valid_until", TIME, nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("disclosure_version", sa.Text(), nullable=False),
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", TIME, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index("credit_reports_subject_time", "credit_reports", ["subject", "issued_at"])


def downgrade() -> None:
    op.drop_table("credit_reports")
