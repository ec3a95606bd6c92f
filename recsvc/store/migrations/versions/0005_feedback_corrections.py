"""Feedback corrections: a mis-clicked answer corrected by the same staff member, original kept.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recsvc.store.migration_ops import cascading, create_index, drop_index

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("previous_outcome", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("audit_request_id", sa.String(length=64), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        cascading("feedback_corrections", "feedback_id", "feedback.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_corrections")),
    )
    create_index("feedback_corrections", "feedback_id")


def downgrade() -> None:
    drop_index("feedback_corrections", "feedback_id")
    op.drop_table("feedback_corrections")
