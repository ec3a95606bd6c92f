"""Pitch log: which product was pitched to whom on which day (daily contact cap).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recsvc.store.migration_ops import create_index, drop_index

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pitch_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pitch_log")),
    )
    create_index("pitch_log", "customer_id", "day")


def downgrade() -> None:
    drop_index("pitch_log", "customer_id", "day")
    op.drop_table("pitch_log")
