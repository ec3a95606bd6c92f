"""Suitability and eligibility: pure functions, each exclusion with a stable reason code."""

from recsvc.rules.codes import NEXT_ACTION_CODES, REASON_CODES
from recsvc.rules.config import ElderlyLimit, RulesConfig, RulesConfigError, load_rules_config
from recsvc.rules.suitability import CustomerFacts, customer_facts, evaluate
from recsvc.rules.verdict import Exclusion, NextAction, Verdict

__all__ = [
    "NEXT_ACTION_CODES",
    "REASON_CODES",
    "CustomerFacts",
    "ElderlyLimit",
    "Exclusion",
    "NextAction",
    "RulesConfig",
    "RulesConfigError",
    "Verdict",
    "customer_facts",
    "evaluate",
    "load_rules_config",
]
