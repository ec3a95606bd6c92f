"""Names shared by the store: the bank export's files and columns, and pitch outcomes."""

from __future__ import annotations

BANK_FORMAT = "recsvc-bank"
BANK_FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
CUSTOMERS_FILE = "customers.csv"
HOLDINGS_FILE = "holdings.csv"
TRANSACTIONS_FILE = "transactions.csv"
PITCHES_FILE = "pitches.csv"
MANAGERS_FILE = "managers.csv"

CHANNEL_HABIT_COLUMNS = (
    "counter_visits_90d",
    "self_service_visits_90d",
    "mobile_logins_90d",
    "online_logins_90d",
)
BOOLEAN_CUSTOMER_COLUMNS = ("salary_via_bank", "consent_marketing", "open_complaint")
PII_COLUMNS = ("name", "id_number", "phone")
CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "id_number",
    "phone",
    "birth_date",
    "gender",
    "occupation",
    "monthly_income",
    "income_stability",
    "salary_via_bank",
    "aum",
    "risk_level",
    "assessment_date",
    *CHANNEL_HABIT_COLUMNS,
    "consent_marketing",
    "open_complaint",
    "manager_id",
    "branch_id",
    "customer_since",
)
HOLDING_COLUMNS = (
    "snapshot_date",
    "customer_id",
    "product_id",
    "amount",
    "open_date",
    "maturity_date",
    "value_change_pct",
)
TRANSACTION_COLUMNS = ("customer_id", "date", "type", "amount", "channel")
PITCH_COLUMNS = ("customer_id", "product_id", "date", "channel", "outcome", "staff_id")
MANAGER_COLUMNS = ("manager_id", "branch_id", "level", "book_size_cap")

ACCEPTED = "accepted"
PITCH_OUTCOMES = (ACCEPTED, "declined", "not_interested", "no_answer")
# Outcomes after which the same product should not be pitched again soon (contact fatigue).
DECLINE_OUTCOMES = ("declined", "not_interested")
# Outcomes after which the product was put to the customer (they heard it): a pitch to log.
HEARD_OUTCOMES = (ACCEPTED, *DECLINE_OUTCOMES)

# Chunks become IN (...) lists and executemany batches; SQLite allows 32766 bound variables.
MAX_CHUNK_SIZE = 10_000


def check_chunk_size(chunk_size: int) -> None:
    """ValueError unless 1 <= chunk_size <= MAX_CHUNK_SIZE."""
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be in 1..{MAX_CHUNK_SIZE}, got {chunk_size}")
