"""Seed 十六's cross-sector warning in its two hops, through the real worker.

The rule (two departments about one subject) finds a pattern per linkage group;
the sector's department-mix model judges its combination. Once a sector has
seen enough findings, a combination usual there goes to the daily digest and
an unusual one reaches the board as its own alert (docs/early-warning.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Pipeline
from tests.integration.test_alert_lifecycle import the_alert
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import get_json, send

pytestmark = pytest.mark.integration

SECTOR = "construction"
#: Findings of the sector before the test's own: past 1 / unusual_share - 2 (18).
WARM_UP = 24


def pattern(n: int, other_department: str, other_kind: str, **other: Any) -> list[dict[str, Any]]:
    """Subject ``n``: a market-regulation penalty, then a record of another department."""
    subject = make_uscc(n)
    first = enforcement(subject, f"mix-{n}-a", "penalty", 60, severity="minor", sector=SECTOR)
    other = enforcement(
        subject, f"mix-{n}-b", other_kind, 50, department=other_department, sector=SECTOR, **other
    )
    return [first, other]


def board_ids(pipeline: Pipeline) -> set[str]:
    status, listing = get_json(pipeline, "/api/alerts?kind=cross-sector&limit=500")
    assert status == 200
    return {a["alert_id"] for a in listing["alerts"]}


def test_a_usual_combination_goes_to_the_digest_and_an_unusual_one_to_the_board(
    pipeline: Pipeline,
):
    warm = range(8800, 8800 + WARM_UP)
    send(pipeline, *(r for n in warm for r in pattern(n, "taxation", "tax_violation")))
    # Every warm-up pattern is judged (each subject's alert exists) before the test's own:
    # the sector's hop then has WARM_UP findings of market regulation with taxation.
    for n in warm:
        the_alert(pipeline, make_uscc(n), "cross-sector", lambda a: True, f"subject {n}'s alert")

    usual_subject, unusual_subject = make_uscc(8900), make_uscc(8901)
    send(
        pipeline,
        *pattern(8900, "taxation", "tax_violation"),
        *pattern(8901, "ecology_environment", "penalty", severity="minor"),
    )
    usual = the_alert(pipeline, usual_subject, "cross-sector", lambda a: True, "the usual one")
    unusual = the_alert(
        pipeline, unusual_subject, "cross-sector", lambda a: True, "the unusual one"
    )

    # The usual combination: kept in the subject's history and counted in the digest.
    assert (usual["disposition"], usual["severity"]) == ("digest", "medium")
    share = {e["fact"]: e for e in usual["evidence"]}["department_pair_share"]
    assert "a usual combination in construction" in share["detail"]
    # The unusual one: its own item on the board, strong, and saying why.
    assert (unusual["disposition"], unusual["severity"]) == ("board", "high")
    share = {e["fact"]: e for e in unusual["evidence"]}["department_pair_share"]
    assert "an unusual combination in construction, met in 0 of its" in share["detail"]
    assert "罕见" in share["detail_zh"]

    wait_until(lambda: unusual["alert_id"] in board_ids(pipeline), 20, "the board")
    assert usual["alert_id"] not in board_ids(pipeline)
    # A young sector's first findings, in warm-up, were no storm on the board either.
    first = the_alert(pipeline, make_uscc(warm[0]), "cross-sector", lambda a: True, "first")
    assert first["disposition"] == "digest"
