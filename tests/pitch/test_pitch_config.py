"""pitch.yaml errors name the key; thresholds and weights are data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recsvc.customers.profile import Transaction
from recsvc.pitch import (
    DEFAULT_PITCH_PATH,
    PitchConfigError,
    load_pitch_config,
    transaction_triggers,
)

Broken = Callable[[str, str], Path]


def test_pitch_config_loads_packaged_file() -> None:
    config = load_pitch_config(DEFAULT_PITCH_PATH)
    assert config.fallback_salutation == {"zh-CN": "您好", "en": "Hello"}
    assert config.honorifics["zh-CN"] == {"M": "先生", "F": "女士"}
    assert config.honorifics["en"] == {"M": "Mr.", "F": "Ms."}
    assert [t.code for t in config.triggers] == [
        "TXN_CARD_REPAYMENT",
        "TXN_SMALL_CASH",
        "TXN_LARGE_DEPOSIT",
        "TXN_NEW_ACCOUNT",
        "TXN_WEALTH_PURCHASE",
    ]


def test_pitch_config_threshold_is_data(broken_pitch_yaml: Broken) -> None:
    config = load_pitch_config(broken_pitch_yaml("below_amount: 20000", "below_amount: 5000"))
    assert transaction_triggers(Transaction("cash_withdrawal", 4999.0), config)
    assert not transaction_triggers(Transaction("cash_withdrawal", 5000.0), config)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("types: [cash_withdrawal]", "types: [cash_withdrawl]", r"triggers\[1\]\.types"),
        ("channels: [counter]", "channels: [branch]", r"triggers\[0\]\.channels"),
        ("below_amount: 20000", "below_amount: -1", r"triggers\[1\]\.below_amount"),
        ("min_amount: 50000", "min_amount: 50000\n    below_amount: 100", "below_amount"),
        ("weight: {first: 3.0, rest: 2.0}", "weight: {first: 3.0}", r"triggers\[0\]\.weight\.rest"),
        ("en: you repay your card at the counter", "", r"triggers\[0\]\.text"),
        (
            "zh-CN: 您刚开了新账户",
            "zh-CN: 您刚刚在我行开了一个新的结算账户",
            r"triggers\[3\]\.text\.zh-CN",
        ),
        ("code: TXN_SMALL_CASH", "code: TXN_CARD_REPAYMENT", r"triggers\[1\]\.code"),
        ("zh-CN: {M: 先生, F: 女士}", "zh-CN: {M: 先生, X: 女士}", "salutation.honorifics"),
        ("    乔: Qiao\n", "    乔: Qiao\n    乔: Jiao\n", "duplicate key"),
        ("max_reason_chars:", "max_reason_char:", "max_reason_char"),
    ],
)
def test_pitch_config_error_names_key(
    broken_pitch_yaml: Broken, old: str, new: str, key: str
) -> None:
    with pytest.raises(PitchConfigError, match=key):
        load_pitch_config(broken_pitch_yaml(old, new))


def test_pitch_config_unknown_product_named(broken_pitch_yaml: Broken) -> None:
    path = broken_pitch_yaml("products: [auto_repay]", "products: [auto_repayment]")
    load_pitch_config(path)  # without the catalogue's ids the name cannot be checked
    with pytest.raises(PitchConfigError, match=r"triggers\[0\]\.products.*'auto_repayment'"):
        load_pitch_config(path, product_ids=["auto_repay", "mobile_banking"])


def test_pitch_config_unreadable(tmp_path: Path) -> None:
    with pytest.raises(PitchConfigError, match="cannot read"):
        load_pitch_config(tmp_path / "missing.yaml")
