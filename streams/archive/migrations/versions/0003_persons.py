"""People: role records (registry.roles) and personal credit records (risk.person-records).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10

Seed 十一. ``person_roles`` keeps every role record as it came (keyed like
every input record, by subject and event id), with a subject's roles and a
person's subjects indexed. ``person_records`` keeps every version of a
person's record, ``person_state`` the latest per person (by pseudonym), with
the person's id indexed so an official can find a person's record by the id
on an identity document. Both hold personal data: read them only through the
API's audited endpoints (docs/access.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _tail() -> list[sa.Column]:
    return [
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", TIME, nullable=False, server_default=sa.func.now()),
    ]


def _person_columns() -> list[sa.Column]:
    return [
        _text("person"),
        sa.Column("version", sa.Integer(), nullable=False),
        _text("person_id", nullable=True),
        _text("person_name", nullable=True),
        sa.Column("changed_at", TIME, nullable=False),
        sa.Column("active_entries", sa.Integer(), nullable=False),
        _text("policy_version"),
        *_tail(),
    ]


def upgrade() -> None:
    op.create_table(
        "person_roles",
        _text("subject"),
        _text("event_id"),
        _text("person_id"),
        _text("person_name", nullable=True),
        _text("role"),
        sa.Column("held_from", TIME, nullable=False),
        sa.Column("held_until", TIME, nullable=True),
        sa.Column("recorded_at", TIME, nullable=False),
        _text("region"),
        _text("sector"),
        _text("subject_type", nullable=True),
        *_tail(),
        sa.PrimaryKeyConstraint("subject", "event_id"),
    )
    op.create_index("person_roles_subject_time", "person_roles", ["subject", "held_from"])
    op.create_index("person_roles_person", "person_roles", ["person_id", "held_from"])
    op.create_table(
        "person_records",
        *_person_columns(),
        sa.PrimaryKeyConstraint("person", "version"),
    )
    op.create_table(
        "person_state",
        *_person_columns(),
        sa.PrimaryKeyConstraint("person"),
    )
    op.create_index("person_state_person_id", "person_state", ["person_id"])


def downgrade() -> None:
    op.drop_table("person_state")
    op.drop_table("person_records")
    op.drop_table("person_roles")
