"""Contact plan: each client manager's customers to contact in an ISO week.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recsvc.store.migration_ops import create_index, drop_index

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "contact_plan",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=True),
        sa.Column("triggers", PAYLOAD, nullable=False),
        sa.Column("products", PAYLOAD, nullable=False),
        sa.Column("talking_points", PAYLOAD, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("week", "customer_id", name=op.f("pk_contact_plan")),
    )
    create_index("contact_plan", "week", "manager_id")


def downgrade() -> None:
    drop_index("contact_plan", "week", "manager_id")
    op.drop_table("contact_plan")
