"""Initial tables: customers, holdings, transactions, managers, pitches, feedback, audit, keys.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 17:45:54.182330
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recsvc.store.migration_ops import cascading, create_index, drop_index

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=True),
        sa.Column("branch_id", sa.String(length=32), nullable=True),
        sa.Column("manager_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_role", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("model_hash", sa.String(length=128), nullable=True),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "client_managers",
        sa.Column("manager_id", sa.String(length=32), nullable=False),
        sa.Column("branch_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("book_size_cap", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("manager_id", name=op.f("pk_client_managers")),
    )
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("id_number", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("occupation", sa.String(length=32), nullable=False),
        sa.Column("monthly_income", sa.Float(), nullable=False),
        sa.Column("income_stability", sa.String(length=16), nullable=False),
        sa.Column("salary_via_bank", sa.Boolean(), nullable=False),
        sa.Column("aum", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.SmallInteger(), nullable=True),
        sa.Column("assessment_date", sa.Date(), nullable=True),
        sa.Column("counter_visits_90d", sa.Integer(), nullable=False),
        sa.Column("self_service_visits_90d", sa.Integer(), nullable=False),
        sa.Column("mobile_logins_90d", sa.Integer(), nullable=False),
        sa.Column("online_logins_90d", sa.Integer(), nullable=False),
        sa.Column("consent_marketing", sa.Boolean(), nullable=False),
        sa.Column("open_complaint", sa.Boolean(), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=True),
        sa.Column("branch_id", sa.String(length=32), nullable=False),
        sa.Column("customer_since", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customers")),
    )
    create_index("customers", "manager_id")

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "request_id", "product_id", name=op.f("uq_feedback_request_id_product_id")
        ),
    )
    create_index("feedback", "customer_id", "recorded_at")

    op.create_table(
        "holdings",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("open_date", sa.Date(), nullable=True),
        sa.Column("maturity_date", sa.Date(), nullable=True),
        sa.Column("value_change_pct", sa.Float(), nullable=True),
        cascading("holdings", "customer_id", "customers.customer_id"),
        sa.PrimaryKeyConstraint("customer_id", "product_id", name=op.f("pk_holdings")),
    )
    op.create_table(
        "pitch_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=True),
        cascading("pitch_history", "customer_id", "customers.customer_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pitch_history")),
    )
    create_index("pitch_history", "customer_id", "date")

    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        cascading("transactions", "customer_id", "customers.customer_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    create_index("transactions", "customer_id", "date")


def downgrade() -> None:
    drop_index("transactions", "customer_id", "date")

    op.drop_table("transactions")
    drop_index("pitch_history", "customer_id", "date")

    op.drop_table("pitch_history")
    op.drop_table("holdings")
    drop_index("feedback", "customer_id", "recorded_at")

    op.drop_table("feedback")
    drop_index("customers", "manager_id")

    op.drop_table("customers")
    op.drop_table("client_managers")
    op.drop_table("audit_log")
    op.drop_table("api_keys")
