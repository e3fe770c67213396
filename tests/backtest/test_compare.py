"""The backtest's comparison: the same policy changes nothing; a moved boundary or a
changed list rule moves exactly the subjects it should, where they are."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from creditwatch.backtest.compare import Comparison, Move, compare
from creditwatch.backtest.history import StoredRecord
from creditwatch.backtest.page import render_page
from creditwatch.backtest.replay import replay
from creditwatch.backtest.report import render_text, to_json
from detectors.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from pipeline.context import StepContext
from tests.factories import (
    COMPLAINTS_TOPIC,
    ENFORCEMENT_TOPIC,
    HOUR,
    T0,
    complaint_data,
    encode,
    enforcement_data,
    make_uscc,
    pseudonym_key,
)

CURRENT = load_policy()
KEY = pseudonym_key()
# Two tax violations (12 points each) take a subject from 30 to 54: past C's bound of
# 50 and its hysteresis of 3. One general penalty (10 points) leaves it in B.
EVADER, PENALISED, QUIET = make_uscc(901), make_uscc(902), make_uscc(903)
EVADER_COUNTY, EVADER_SECTOR = "130104", "construction"


def stored(topic: str, at: datetime, data: dict[str, object]) -> StoredRecord:
    return StoredRecord(at, topic, str(data["subject"]).encode(), encode(data))


def history() -> list[StoredRecord]:
    def tax(n: int) -> StoredRecord:
        at = T0 + n * HOUR
        data = enforcement_data(
            subject=EVADER,
            kind="tax_violation",
            severity=None,
            department="taxation",
            region=EVADER_COUNTY,
            sector=EVADER_SECTOR,
            occurred_at=at,
        )
        return stored(ENFORCEMENT_TOPIC, at, data)

    at = T0 + 3 * HOUR
    penalty = enforcement_data(subject=PENALISED, severity="general", occurred_at=at)
    quiet = complaint_data(subject=QUIET, kind="enquiry", received_at=T0 + 4 * HOUR)
    return [
        tax(1),
        tax(2),
        stored(ENFORCEMENT_TOPIC, at, penalty),
        stored(COMPLAINTS_TOPIC, T0 + 4 * HOUR, quiet),
    ]


def backtest(new: Policy) -> Comparison:
    done = replay(history(), StepContext(CURRENT, KEY), StepContext(new, KEY))
    return compare(done, "current.toml", "new.toml")


def edited_policy(tmp_path: Path, old: str, new: str) -> Policy:
    """The bundled policy file with ``old`` replaced by ``new`` once, loaded from a file."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "new.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_policy(path)


def test_the_same_policy_changes_nothing() -> None:
    comparison = backtest(CURRENT)

    assert comparison.unchanged
    assert comparison.moves == []
    assert [(t, a, b) for t, a, b in comparison.tiers() if a != b] == []
    assert comparison.subjects == 3 and comparison.records == 4
    printed = render_text(comparison)
    assert "No changes: the new policy moves no tier, list or alert" in printed
    assert "The two policy files are identical." in printed
    assert not re.search(r"[+-][1-9]", printed.split("Tiers at the end")[1])


def test_a_higher_c_bound_keeps_the_subject_between_the_bounds_in_b(tmp_path: Path) -> None:
    new = edited_policy(tmp_path, "c_from = 50.0", "c_from = 60.0")

    comparison = backtest(new)

    assert not comparison.unchanged
    assert comparison.moves == [Move(EVADER, EVADER_COUNTY, EVADER_SECTOR, "C", "B")]
    assert [(t, a, b) for t, a, b in comparison.tiers() if a != b] == [
        ("B", 2, 3),
        ("C", 1, 0),
    ]
    county = {a.code: a for a in comparison.areas("region")}[EVADER_COUNTY]
    assert (county.subjects, county.riskier, county.safer) == (1, 0, 1)
    sector = {a.code: a for a in comparison.areas("sector")}[EVADER_SECTOR]
    assert (sector.riskier, sector.safer) == (0, 1)
    # The move it no longer publishes: B -> C.
    assert comparison.tier_changes()[1:] == [("riskier", 1, 0), ("safer", 0, 0)]
    printed = render_text(comparison)
    assert "1 subjects end in another tier (0 riskier, 1 safer)" in printed
    assert re.search(r"Qiaoxi District\s+1\s+0\s+1", printed)
    assert to_json(comparison)["moves"] == [
        {
            "subject": EVADER,
            "region": EVADER_COUNTY,
            "sector": EVADER_SECTOR,
            "current": "C",
            "new": "B",
        }
    ]
    # The approval page's words (issue 17): the same tables, each cell in both languages.
    worded = to_json(comparison)["worded"]
    by_county = {t["key"]: t for t in worded["tables"]}["by_county"]
    assert by_county["title"][1] == "Tier moves by county"
    assert ["桥西区", "Qiaoxi District"] in [row[0] for row in by_county["rows"]]
    assert "1 subjects end in another tier (0 riskier, 1 safer)" in " ".join(worded["summary"][1])


def test_a_looser_list_rule_lists_the_subject_it_now_covers(tmp_path: Path) -> None:
    """Key-attention after one general penalty instead of three: the penalised subject
    enters the list (and its alert opens); nobody's tier moves."""
    new = edited_policy(
        tmp_path,
        '{ signal = "penalty_general", count = 3, within_days = 365 }',
        '{ signal = "penalty_general", count = 1, within_days = 365 }',
    )

    comparison = backtest(new)

    assert comparison.moves == []
    assert comparison.list_changes() == [("key_attention", "entered", 0, 1)]
    assert comparison.listed() == [("key_attention", 0, 1, 1, 0)]
    list_alerts = [row for row in comparison.alerts() if row[0] == "list"]
    assert list_alerts == [("list", "board", 0, 1)]
    assert "list entries +1, exits +0; alerts opened +1 (board items +1)" in render_text(comparison)


def test_the_page_stands_alone_in_both_languages(tmp_path: Path) -> None:
    new = edited_policy(tmp_path, "c_from = 50.0", "c_from = 60.0")
    page = render_page(backtest(new), rate=1234.0, seconds=2.0)

    assert page.count("<svg") == 3  # tiers, moves by county, board items by kind
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)=["']?https?:""", page)
    for words in ("期末风险等级分布", "Tiers at the end", "桥西区", "Qiaoxi District", "调低"):
        assert words in page


def test_a_window_needs_timezone_aware_bounds() -> None:
    from creditwatch.backtest.history import Window

    with pytest.raises(ValueError, match="timezone-aware"):
        Window(since=datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="ends before it starts"):
        Window(since=T0, until=T0 - timedelta(days=1))
