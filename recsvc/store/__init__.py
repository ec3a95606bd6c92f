"""The store: tables, engine and migrations, the bank export loader, and repositories."""

from recsvc.store.audit import AuditRecord, get_audit, write_audit
from recsvc.store.csvrows import LoadError
from recsvc.store.customer_repo import get_customer, manager_of
from recsvc.store.engine import make_engine, upgrade
from recsvc.store.feedback import record_feedback
from recsvc.store.loader import LoadReport, TableCounts, load_customers
from recsvc.store.pitch_log import record_pitch
from recsvc.store.prepared import prepare_all
from recsvc.store.request_context import RequestContext, first_customer_id, get_request_context
from recsvc.store.tables import Base

__all__ = [
    "AuditRecord",
    "Base",
    "LoadError",
    "LoadReport",
    "RequestContext",
    "TableCounts",
    "first_customer_id",
    "get_audit",
    "get_customer",
    "get_request_context",
    "load_customers",
    "make_engine",
    "manager_of",
    "prepare_all",
    "record_feedback",
    "record_pitch",
    "upgrade",
    "write_audit",
]
