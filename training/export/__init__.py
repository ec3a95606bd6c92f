"""The store as a point-in-time bank export with the service's decision log (training export)."""

from training.export.bank import (
    DECISIONS_FILE,
    RESPONSES_FILE,
    ExportSummary,
    export_bank,
    next_month_end,
)
from training.export.decisions import DECISION_COLUMNS, Decision, decisions_known

__all__ = [
    "DECISIONS_FILE",
    "DECISION_COLUMNS",
    "RESPONSES_FILE",
    "Decision",
    "ExportSummary",
    "decisions_known",
    "export_bank",
    "next_month_end",
]
