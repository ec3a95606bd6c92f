"""The what-if report: before and after over a seeded sample, read-only (nothing pitched,
audited, logged or planned), deterministic, and its numbers those of the decisions."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from whatif_support import AS_OF, row_counts

from recsvc.service.overlay import IllegalOverlay, OverlayError
from recsvc.service.whatif import WhatIf
from recsvc.service.wiring import Services
from recsvc.store.sample import sample_customer_ids

DOUBLE_CARD = "service:\n  arbitration:\n    product_weights: {credit_card: 2.0}\n"
NO_CHANGE = "note: nothing changed\n"


def test_a_what_if_writes_nothing_to_the_store(services: Services, whatif: WhatIf) -> None:
    before = row_counts(services)
    report = whatif.run(sample=400, seed=3, overlay=DOUBLE_CARD, as_of=AS_OF, chunk_size=64)
    assert report["before"]["customers"] == 400
    assert row_counts(services) == before


def test_the_same_seed_draws_the_same_sample_and_another_seed_another(
    services: Services,
) -> None:
    one = sample_customer_ids(services.engine, 300, seed=1)
    assert one == sample_customer_ids(services.engine, 300, seed=1)
    assert one != sample_customer_ids(services.engine, 300, seed=2)
    assert one == sorted(one) and len(set(one)) == 300


def test_without_a_change_before_and_after_are_the_same(whatif: WhatIf) -> None:
    report = whatif.run(sample=300, seed=4, overlay=NO_CHANGE, as_of=AS_OF)
    assert report["before"] == report["after"]
    assert report["changed"]["customers"] == 0 and report["changed"]["examples"] == []


def test_doubling_the_card_weight_moves_pitches_to_the_card(whatif: WhatIf) -> None:
    report = whatif.run(sample=500, seed=5, overlay=DOUBLE_CARD, as_of=AS_OF, examples=5)
    before, after, changed = report["before"], report["after"], report["changed"]
    card_before = before["product_mix"].get("credit_card", {}).get("pitches", 0)
    card_after = after["product_mix"].get("credit_card", {}).get("pitches", 0)
    assert card_after > card_before
    assert changed["customers"] == card_after - card_before  # every change is to the card
    assert {t["after"] for t in changed["transitions"]} == {"credit_card"}
    assert sum(t["customers"] for t in changed["transitions"]) == changed["customers"]
    # weights only reorder what the rules allow: who gets a pitch, and why not, is unchanged
    assert before["pitches"] == after["pitches"]
    assert before["exclusions"] == after["exclusions"]
    assert after["expected_value_total"] != before["expected_value_total"]
    assert 0 < len(changed["examples"]) <= 5
    for shown in changed["examples"]:
        assert set(shown) == {"customer_id", "before", "after", "before_expected_value",
                              "after_expected_value", "why"}  # fmt: skip
        assert shown["after"] == "credit_card" and shown["why"] == ["OUTRANKED"]
    json.dumps(report)  # JSON as it is


def test_the_report_sums_the_decisions(whatif: WhatIf, services: Services) -> None:
    ids = sample_customer_ids(services.engine, 250, seed=6)
    decisions = [d[0] for d in whatif.decisions(ids, [whatif.configured()], as_of=AS_OF)]
    side = whatif.run(sample=250, seed=6, overlay=NO_CHANGE, as_of=AS_OF)["before"]
    pitched = [d for d in decisions if d.pitch is not None]
    assert side["pitches"] == len(pitched)
    assert side["pitch_rate"] == round(len(pitched) / 250, 6)
    assert {p: m["pitches"] for p, m in side["product_mix"].items()} == Counter(
        d.pitch for d in pitched
    )
    assert side["expected_value_total"] == round(sum(d.expected_value for d in pitched), 4)
    assert side["predicted_acceptances"] == round(sum(d.propensity or 0 for d in pitched), 4)
    codes = Counter(c for d in decisions for _, cs in d.excluded for c in cs)
    assert side["exclusions"] == dict(codes)


def test_tightening_a_rule_moves_pitches_and_counts_its_reason(whatif: WhatIf) -> None:
    overlay = "rules:\n  age:\n    elderly: [{from_age: 50, max_risk: R1}]\n"
    report = whatif.run(sample=500, seed=7, overlay=overlay, as_of=AS_OF)
    before, after = report["before"], report["after"]
    assert after["exclusions"]["AGE_ELDERLY"] > before["exclusions"].get("AGE_ELDERLY", 0)
    assert after["pitches"] <= before["pitches"]
    assert report["changed"]["customers"] > 0


@pytest.mark.parametrize(
    ("overlay", "error"),
    [("rules: {assessment: {validity_days: 730}}", IllegalOverlay),
     ("service: {arbitration: {product_weight: {credit_card: 2}}}", OverlayError)],
)  # fmt: skip
def test_a_bad_overlay_fails_before_anything_is_read(
    whatif: WhatIf, overlay: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        whatif.run(sample=10, seed=0, overlay=overlay, as_of=AS_OF)


def _exact(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its float sums (added in another order across processes)."""
    out = json.loads(json.dumps(report))
    for side in ("before", "after"):
        for key in ("expected_value_total", "expected_value_per_customer",
                    "predicted_acceptances"):  # fmt: skip
            out[side].pop(key)
    return out


def test_two_worker_processes_give_the_report_one_process_gives(whatif: WhatIf) -> None:
    one = whatif.run(sample=400, seed=8, overlay=DOUBLE_CARD, as_of=AS_OF, chunk_size=100)
    two = whatif.run(sample=400, seed=8, overlay=DOUBLE_CARD, as_of=AS_OF, chunk_size=100,
                     workers=2)  # fmt: skip
    assert _exact(two) == _exact(one)
    assert one["changed"]["customers"] > 0
    for side in ("before", "after"):
        for key in ("expected_value_total", "predicted_acceptances"):
            assert two[side][key] == pytest.approx(one[side][key], abs=1e-3)
