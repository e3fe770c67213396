"""``creditwatch policy backtest`` end to end on a real PostgreSQL record store.

A simulated city's four days go into the store through the archive's own row
mapping and writer; the command replays them. The same policy reports no
change; a lower D bound moves exactly the subjects predicted from their scores
under the current policy.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from creditwatch.backtest.history import Window, read_history
from creditwatch.backtest.simulated import CityHistory, store_history
from creditwatch.cli import main
from creditwatch.evaluation.scenario_offline import OfflinePipeline
from creditwatch.simulation.traffic import SHANGHAI
from detectors.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from detectors.scoring import TIER_ORDER
from detectors.tiers import tier_for
from pipeline.context import StepContext
from tests.factories import pseudonym_key
from topics.decode import Rejected, decode_input
from topics.vocabulary import Tier

pytestmark = pytest.mark.integration

CITY = CityHistory(
    datetime(2026, 11, 1, tzinfo=SHANGHAI), days=4, subjects=400, per_subject_per_day=6
)


@pytest.fixture
def city_store(store_url: str) -> str:
    assert store_history(store_url, CITY) > 0.99 * CITY.records  # less the bad and doubled
    return store_url


def policy_file(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    """The bundled policy without hysteresis (a subject's tier is then its score's tier,
    or its floor), with ``edits`` made; written to ``name``."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    for old, new in (("hysteresis = 3.0", "hysteresis = 0.0"), *edits):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_store_gives_back_every_valid_record_in_event_time_order(city_store: str) -> None:
    produced = {}
    for message in CITY.messages():
        record = decode_input(message.topic, message.key, message.value)
        if not isinstance(record, Rejected):
            produced[record.subject, record.event_id] = record
    with psycopg.connect(city_store) as conn:
        stored = list(read_history(conn, Window()))
    times = [r.at for r in stored]
    assert times == sorted(times)
    # The register's role records too: who represents a subject links its subjects.
    assert {r.topic for r in stored} >= {"registry.roles", "enforcement.events"}
    replayed = {}
    for row in stored:
        record = decode_input(row.topic, row.key, row.value)
        assert not isinstance(record, Rejected), record
        replayed[record.subject, record.event_id] = record
    assert replayed == produced


def test_backtest_reports_no_change_for_the_same_policy_and_the_predicted_moves_for_a_lower_d_bound(
    city_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = policy_file(tmp_path, "current.toml")
    same = policy_file(tmp_path, "same.toml")
    lower_d = policy_file(tmp_path, "lower-d.toml", ("d_from = 75.0", "d_from = 60.0"))
    common = ["policy", "backtest", "--current", str(current), "--database", city_store]

    page = tmp_path / "same.html"
    assert main([*common, "--policy", str(same), "--since", "2026-11-01", "--html", str(page)]) == 0
    printed = capsys.readouterr()
    assert "No changes: the new policy moves no tier, list or alert" in printed.out
    assert "input records from the record store, 2026-11-01T00:00+08:00" in printed.out
    assert "records/s" in printed.err  # the closing rate line
    assert page.read_text(encoding="utf-8").count("<svg") == 2  # no moves: no county plot

    document = tmp_path / "lower-d.json"
    args = ["--policy", str(lower_d), "--html", str(tmp_path / "d.html"), "--json", str(document)]
    assert main([*common, *args]) == 0
    out = capsys.readouterr().out
    report = json.loads(document.read_text(encoding="utf-8"))
    assert not report["unchanged"]

    predicted = predicted_moves(city_store, load_policy(current), load_policy(lower_d))
    assert predicted, "the city has subjects between the two D bounds"
    found = Counter((m["region"], m["current"], m["new"]) for m in report["moves"])
    assert found == predicted
    by_county = {row[0]: row[1:] for row in report["tables"]["by_county"]["rows"]}
    for (region, _, _), count in predicted.items():
        assert by_county[region][1] >= count  # riskier
    assert f"{sum(predicted.values())} subjects end in another tier" in out

    unwritable = ["--policy", str(same), "--html", str(tmp_path / "no" / "such" / "dir.html")]
    assert main([*common, *unwritable]) == 1
    assert "cannot write the page to" in capsys.readouterr().err


def predicted_moves(
    database: str, current_policy: Policy, new_policy: Policy
) -> Counter[tuple[str, str, str]]:
    """Without hysteresis a subject's tier is its score's tier or its floor, and a lower D
    bound moves no score: under the new policy a subject ends in the tier its final score
    reaches under the new bounds, or in its tier under the current policy if that is
    riskier (a floor). By (county, tier now, tier then)."""
    pipeline = OfflinePipeline(StepContext(current_policy, pseudonym_key()))
    with psycopg.connect(database) as conn:
        pipeline.feed(read_history(conn, Window()))
    moves: Counter[tuple[str, str, str]] = Counter()
    for state in pipeline.states.subjects.values():
        assert state.tier is not None
        now = Tier(state.tier)
        then = max(tier_for(state.score, new_policy.tiers), now, key=TIER_ORDER.index)
        if then is not now:
            moves[state.region, now.value, then.value] += 1
    return moves
