"""Experiments: the split of customers over arms, and the arm of every answer and pitch.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recsvc.store.migration_ops import create_index, drop_index

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.String(length=64), nullable=False),
        sa.Column("split", PAYLOAD, nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", name=op.f("pk_experiments")),
    )
    create_index("experiments", "created_at")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("experiment_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("arm", sa.String(length=32), nullable=True))
        batch.create_index("ix_audit_log_experiment_id_arm", ["experiment_id", "arm"])
    with op.batch_alter_table("pitch_log") as batch:
        batch.add_column(sa.Column("experiment_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("arm", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("model_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pitch_log") as batch:
        batch.drop_column("model_version")
        batch.drop_column("arm")
        batch.drop_column("experiment_id")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_experiment_id_arm")
        batch.drop_column("arm")
        batch.drop_column("experiment_id")
    drop_index("experiments", "created_at")
    op.drop_table("experiments")
