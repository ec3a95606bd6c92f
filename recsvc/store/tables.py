"""The database tables, declared once: the migrations must produce exactly this metadata."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names are explicit so that migrations, SQLite and PostgreSQL agree on them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)
CODE = String(32)
MONEY = Float()
# JSON on SQLite, JSONB on PostgreSQL.
PAYLOAD = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CustomerRow(Base):
    """A customer profile; name, id_number and phone are personal data and never logged."""

    __tablename__ = "customers"
    __table_args__ = (Index(None, "manager_id"),)

    customer_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))
    occupation: Mapped[str] = mapped_column(CODE)
    monthly_income: Mapped[float] = mapped_column(MONEY)
    income_stability: Mapped[str] = mapped_column(String(16))
    salary_via_bank: Mapped[bool] = mapped_column(Boolean)
    aum: Mapped[float] = mapped_column(MONEY)
    risk_level: Mapped[int | None] = mapped_column(SmallInteger)
    assessment_date: Mapped[dt.date | None] = mapped_column(Date)
    counter_visits_90d: Mapped[int] = mapped_column(Integer)
    self_service_visits_90d: Mapped[int] = mapped_column(Integer)
    mobile_logins_90d: Mapped[int] = mapped_column(Integer)
    online_logins_90d: Mapped[int] = mapped_column(Integer)
    consent_marketing: Mapped[bool] = mapped_column(Boolean)
    open_complaint: Mapped[bool] = mapped_column(Boolean)
    manager_id: Mapped[str | None] = mapped_column(CODE)
    branch_id: Mapped[str] = mapped_column(CODE)
    customer_since: Mapped[dt.date | None] = mapped_column(Date)


class HoldingRow(Base):
    """A product a customer holds now (the last snapshot loaded)."""

    __tablename__ = "holdings"

    customer_id: Mapped[str] = mapped_column(
        ID, ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(ID, primary_key=True)
    amount: Mapped[float] = mapped_column(MONEY)
    open_date: Mapped[dt.date | None] = mapped_column(Date)
    maturity_date: Mapped[dt.date | None] = mapped_column(Date)
    value_change_pct: Mapped[float | None] = mapped_column(Float)


class TransactionRow(Base):
    """A recent transaction of a customer; id keeps the file's order."""

    __tablename__ = "transactions"
    __table_args__ = (Index(None, "customer_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(
        ID, ForeignKey("customers.customer_id", ondelete="CASCADE")
    )
    date: Mapped[dt.date | None] = mapped_column(Date)
    type: Mapped[str] = mapped_column(CODE)
    amount: Mapped[float] = mapped_column(MONEY)
    channel: Mapped[str] = mapped_column(CODE)


class ClientManagerRow(Base):
    """A client manager; their book is the customers whose manager_id is theirs."""

    __tablename__ = "client_managers"

    manager_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    branch_id: Mapped[str] = mapped_column(CODE)
    level: Mapped[int] = mapped_column(SmallInteger)
    book_size_cap: Mapped[int] = mapped_column(Integer)


class PitchHistoryRow(Base):
    """A past pitch from the bank's records, for contact fatigue and training labels."""

    __tablename__ = "pitch_history"
    __table_args__ = (Index(None, "customer_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(
        ID, ForeignKey("customers.customer_id", ondelete="CASCADE")
    )
    product_id: Mapped[str] = mapped_column(ID)
    date: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(CODE)
    outcome: Mapped[str] = mapped_column(CODE)
    staff_id: Mapped[str | None] = mapped_column(CODE)


class FeedbackRow(Base):
    """A pitch outcome reported through the API; idempotent on (request_id, product_id)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("request_id", "product_id"),
        Index(None, "customer_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ID)
    product_id: Mapped[str] = mapped_column(ID)
    outcome: Mapped[str] = mapped_column(CODE)
    staff_id: Mapped[str | None] = mapped_column(CODE)
    customer_id: Mapped[str | None] = mapped_column(ID)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditLogRow(Base):
    """One served request: who asked, which model answered, and what was said."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "experiment_id", "arm"),)

    request_id: Mapped[str] = mapped_column(ID, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    caller_role: Mapped[str] = mapped_column(CODE)
    staff_id: Mapped[str | None] = mapped_column(CODE)
    customer_id: Mapped[str | None] = mapped_column(ID)
    model_version: Mapped[str | None] = mapped_column(ID)
    model_hash: Mapped[str | None] = mapped_column(String(128))
    degraded: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[dict[str, Any]] = mapped_column(PAYLOAD)
    experiment_id: Mapped[str | None] = mapped_column(ID)  # None: no experiment was set
    arm: Mapped[str | None] = mapped_column(CODE)  # the assigned arm (None: not a decision)


class ApiKeyRow(Base):
    """An API key (only its hash is stored) and the caller it stands for."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(ID, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(CODE)
    staff_id: Mapped[str | None] = mapped_column(CODE)
    branch_id: Mapped[str | None] = mapped_column(CODE)
    manager_id: Mapped[str | None] = mapped_column(CODE)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PitchLogRow(Base):
    """A product actually pitched (put in front of a customer) on a day: the daily contact cap.

    Each product of a customer's day takes a slot 0..cap-1; the unique constraint makes claiming
    one atomic (insert-or-read), so the cap holds under concurrent requests."""

    __tablename__ = "pitch_log"
    __table_args__ = (UniqueConstraint("customer_id", "day", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ID)
    customer_id: Mapped[str] = mapped_column(ID)
    product_id: Mapped[str] = mapped_column(ID)
    day: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(CODE)
    slot: Mapped[int] = mapped_column(SmallInteger)
    experiment_id: Mapped[str | None] = mapped_column(ID)
    arm: Mapped[str | None] = mapped_column(CODE)
    model_version: Mapped[str | None] = mapped_column(ID)


class ContactPlanRow(Base):
    """One customer in a client manager's contact plan for an ISO week (replaced per week)."""

    __tablename__ = "contact_plan"
    __table_args__ = (Index(None, "week", "manager_id"),)

    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ID, primary_key=True)
    manager_id: Mapped[str] = mapped_column(CODE)
    rank: Mapped[int] = mapped_column(Integer)
    priority: Mapped[float] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(CODE)
    triggers: Mapped[list[str]] = mapped_column(PAYLOAD)
    products: Mapped[list[str]] = mapped_column(PAYLOAD)
    talking_points: Mapped[list[dict[str, str]]] = mapped_column(PAYLOAD)
    channel: Mapped[str] = mapped_column(CODE)
    request_id: Mapped[str] = mapped_column(ID)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class FeedbackCorrectionRow(Base):
    """A mis-click corrected: the feedback row's outcome before and after, who, when.

    The feedback row carries the current outcome (what the contact policy reads); these rows
    keep every earlier one, so the original answer is never lost.
    """

    __tablename__ = "feedback_corrections"
    __table_args__ = (Index(None, "feedback_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feedback_id: Mapped[int] = mapped_column(Integer, ForeignKey("feedback.id", ondelete="CASCADE"))
    previous_outcome: Mapped[str] = mapped_column(CODE)
    outcome: Mapped[str] = mapped_column(CODE)
    staff_id: Mapped[str] = mapped_column(CODE)
    audit_request_id: Mapped[str] = mapped_column(ID)
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ExperimentRow(Base):
    """An experiment design (the split of customers over arms); the newest one is in force.

    Rows are never changed: a new split is a new row with a new id and salt."""

    __tablename__ = "experiments"
    __table_args__ = (Index(None, "created_at"),)

    experiment_id: Mapped[str] = mapped_column(ID, primary_key=True)
    split: Mapped[dict[str, int]] = mapped_column(PAYLOAD)
    salt: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(CODE)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# The Core tables, for the statements that skip the ORM (prepared reads, exports).
CUSTOMERS = CustomerRow.__table__
HOLDINGS = HoldingRow.__table__
TRANSACTIONS = TransactionRow.__table__
MANAGERS = ClientManagerRow.__table__
HISTORY = PitchHistoryRow.__table__
FEEDBACK = FeedbackRow.__table__
AUDIT = AuditLogRow.__table__
PITCH_LOG = PitchLogRow.__table__
CORRECTIONS = FeedbackCorrectionRow.__table__
