"""Pitch log slots: the daily contact cap enforced by the database.

A customer's pitches of a day take numbered slots (0, 1, ... up to the configured cap); a unique
constraint on (customer_id, day, slot) lets the service claim a slot with one insert-or-read,
so two tellers at once can no longer both pitch. Existing rows: repeats of the same product on
the same day are merged into the first (the log records which products were put to the
customer, not how often), and the distinct products of a day are numbered in the order first
pitched. Days that went over the cap before this revision keep their extra rows (slots 1, 2...):
they are what really happened and count as contacts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM pitch_log WHERE id NOT IN ("
        " SELECT first_id FROM ("
        "  SELECT MIN(id) AS first_id FROM pitch_log GROUP BY customer_id, day, product_id"
        " ) AS firsts)"
    )
    with op.batch_alter_table("pitch_log") as batch:
        batch.add_column(sa.Column("slot", sa.SmallInteger(), nullable=True))
    op.execute(
        "UPDATE pitch_log SET slot = ("
        " SELECT COUNT(*) FROM pitch_log AS earlier"
        " WHERE earlier.customer_id = pitch_log.customer_id"
        " AND earlier.day = pitch_log.day AND earlier.id < pitch_log.id)"
    )
    with op.batch_alter_table("pitch_log") as batch:
        batch.alter_column("slot", existing_type=sa.SmallInteger(), nullable=False)
        batch.drop_index("ix_pitch_log_customer_id_day")
        batch.create_unique_constraint(
            "uq_pitch_log_customer_id_day_slot", ["customer_id", "day", "slot"]
        )


def downgrade() -> None:
    with op.batch_alter_table("pitch_log") as batch:
        batch.drop_constraint("uq_pitch_log_customer_id_day_slot", type_="unique")
        batch.create_index("ix_pitch_log_customer_id_day", ["customer_id", "day"], unique=False)
        batch.drop_column("slot")
