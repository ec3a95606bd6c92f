"""The customer as the bank knows them: profile, tier, value class."""

from recsvc.customers.bank import BankConfig, Tier, load_bank_config
from recsvc.customers.profile import (
    ChannelHabits,
    Customer,
    CustomerSchema,
    Holding,
    Transaction,
    age_on,
)
from recsvc.customers.segments import tier_of, value_class_of

__all__ = [
    "BankConfig",
    "ChannelHabits",
    "Customer",
    "CustomerSchema",
    "Holding",
    "Tier",
    "Transaction",
    "age_on",
    "load_bank_config",
    "tier_of",
    "value_class_of",
]
