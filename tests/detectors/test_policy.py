"""The policy file: the bundled one loads, and a broken one fails at start-up, clearly."""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from detectors.alert_rules import AlertRule
from detectors.policy import (
    DEFAULT_POLICY_PATH,
    SECONDS_PER_DAY,
    PolicyError,
    load_policy,
    parse_policy,
)
from detectors.tiers import next_tier
from streams.settings import Settings
from topics.vocabulary import AlertSeverity, Disposition, Tier

BUNDLED_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
BUNDLED = tomllib.loads(BUNDLED_TEXT)


def edited(**paths: Any) -> dict[str, Any]:
    """The bundled document with ``section__key=value`` replaced (``DELETE`` removes it)."""
    document = copy.deepcopy(BUNDLED)
    for dotted, value in paths.items():
        *parents, leaf = dotted.split("__")
        table = document
        for part in parents:
            table = table[part]
        if value is DELETE:
            del table[leaf]
        else:
            table[leaf] = value
    return document


DELETE = object()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(document)
    return str(info.value)


def test_bundled_policy_loads() -> None:
    policy = load_policy()
    assert policy.version == BUNDLED["version"]
    assert 0 < policy.tiers.b_from < policy.tiers.c_from < policy.tiers.d_from < 100
    assert set(policy.signals) == set(BUNDLED["signals"])
    # Days in the file become seconds in the policy.
    serious = policy.signals["penalty_serious"]
    assert serious.half_life_s == BUNDLED["signals"]["penalty_serious"]["half_life_days"] * (
        SECONDS_PER_DAY
    )
    assert serious.floor is Tier.C
    assert policy.alert_cooldown_s == BUNDLED["alerts"]["cooldown_days"] * SECONDS_PER_DAY
    # Positive credit records carry negative points, capped on the same side.
    honour = policy.signals["honour"]
    assert honour.points < 0 and honour.cap <= honour.points


def test_policy_is_read_from_the_given_file(tmp_path: Path) -> None:
    text = BUNDLED_TEXT.replace(f'version = "{BUNDLED["version"]}"', 'version = "local-test"')
    assert text != BUNDLED_TEXT
    assert load_policy(write(tmp_path, text)).version == "local-test"


def test_policy_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = BUNDLED_TEXT.replace("dedup_memory = 64", "dedup_memory = 7")
    monkeypatch.setenv("CREDITWATCH_POLICY", str(write(tmp_path, text)))
    # The worker reads the variable (streams/settings.py); detectors/ reads no environment.
    assert Settings.from_env().load_policy().dedup_memory == 7


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    policy = parse_policy(edited(tiers__b_from=20, score__base=10))
    assert policy.tiers.b_from == 20.0 and isinstance(policy.tiers.b_from, float)


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("version", "'version'"),
        ("tiers__hysteresis", "'tiers.hysteresis'"),
        ("score__base", "'score.base'"),
        ("signals__honour__cap", "'signals.honour.cap'"),
        ("complaints__surge_ratio", "'complaints.surge_ratio'"),
        ("iot__alert_exceedances", "'iot.alert_exceedances'"),
        ("alerts", "'alerts'"),
        ("ingest__dedup_memory", "'ingest.dedup_memory'"),
        ("signals__penalty_serious__floor_days", "'signals.penalty_serious.floor_days'"),
    ],
)
def test_missing_key_is_named(path: str, named: str) -> None:
    message = error_of(edited(**{path: DELETE}))
    assert "missing" in message and named in message


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("tiers__b_from", "25", "'tiers.b_from'"),
        ("version", 2026, "'version'"),
        ("ingest__dedup_memory", 64.0, "'ingest.dedup_memory'"),
        ("complaints__surge_min", True, "'complaints.surge_min'"),
        ("score__base", True, "'score.base'"),
        ("tiers", [25, 50, 75], "'tiers'"),
    ],
)
def test_wrong_type_is_named(path: str, value: Any, named: str) -> None:
    message = error_of(edited(**{path: value}))
    assert named in message and "must be" in message


@pytest.mark.parametrize(
    "bounds",
    [
        {"c_from": 25.0},  # equal to b_from
        {"b_from": 60.0},  # above c_from
        {"d_from": 100.0},  # nothing could reach D
        {"b_from": 0.0},  # nothing would be A
        {"b_from": 75.0, "c_from": 50.0, "d_from": 25.0},  # reversed
    ],
)
def test_tier_bounds_must_increase(bounds: dict[str, float]) -> None:
    message = error_of(edited(**{f"tiers__{k}": v for k, v in bounds.items()}))
    assert "b_from < c_from < d_from" in message


@pytest.mark.parametrize("hysteresis", [12.5, 30.0, -1.0])
def test_hysteresis_must_be_under_half_a_tier(hysteresis: float) -> None:
    # Bundled tiers are 25 wide, so half a tier is 12.5.
    message = error_of(edited(tiers__hysteresis=hysteresis))
    assert "tiers.hysteresis" in message


def test_zero_hysteresis_is_allowed() -> None:
    assert parse_policy(edited(tiers__hysteresis=0.0)).tiers.hysteresis == 0.0


def test_hysteresis_must_be_under_half_of_every_tier() -> None:
    document = edited(tiers__d_from=98.0)
    try:
        policy = parse_policy(document)
    except PolicyError as exc:
        assert "tiers.hysteresis" in str(exc)
        return
    # What the accepted policy does: the maximum score cannot move C to D.
    assert next_tier(Tier.C, 100.0, None, policy.tiers) is Tier.D


@pytest.mark.parametrize("floor", ["E", "a", "", 3])
def test_bad_floor_tier(floor: Any) -> None:
    message = error_of(edited(signals__penalty_serious__floor=floor))
    assert "signals.penalty_serious.floor" in message and "A, B, C, D" in message


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"signals__honour__cap": 12.0}, "signals.honour.cap"),  # positive cap, negative points
        ({"signals__penalty_minor__cap": 2.0}, "signals.penalty_minor.cap"),  # cap below points
        ({"signals__penalty_minor__points": 0.0}, "signals.penalty_minor.cap"),
        ({"signals__interview__half_life_days": 0}, "signals.interview.half_life_days"),
    ],
)
def test_inconsistent_signal_is_named(changes: dict[str, Any], named: str) -> None:
    assert named in error_of(edited(**changes))


def test_file_not_found_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "policy.toml"
    with pytest.raises(PolicyError, match="not found") as info:
        load_policy(missing)
    assert str(missing) in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BUNDLED_TEXT.replace("b_from = 25.0", "b_from = = 25.0"))
    with pytest.raises(PolicyError, match="not valid TOML") as info:
        load_policy(path)
    assert str(path) in str(info.value)


def test_inconsistent_file_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, BUNDLED_TEXT.replace("d_from = 75.0", "d_from = 45.0"))
    with pytest.raises(PolicyError, match="b_from < c_from < d_from"):
        load_policy(path)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("score", "base", 120.0, "score.base"),
        ("ingest", "dedup_memory", 0, "ingest.dedup_memory"),
        ("signals.penalty_serious", "floor_days", -5, "floor_days"),
    ],
)
def test_values_out_of_their_range_are_rejected(section, key, value, message):
    document = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    table = document
    for part in section.split("."):
        table = table[part]
    table[key] = value
    with pytest.raises(PolicyError, match=message):
        parse_policy(document)


# --- alert severities and the numbers the detectors used to keep in code ------------


def test_every_alert_rule_s_severity_comes_from_the_policy() -> None:
    policy = load_policy()
    table = BUNDLED["alerts"]["severity"]
    severity = policy.alerts.severity
    assert severity.of(AlertRule.COURT_DISHONEST_DEBTOR) is AlertSeverity.CRITICAL
    assert severity.of(AlertRule.PEER_OUTLIER) is AlertSeverity.MEDIUM
    assert severity.of(AlertRule.PEER_OUTLIER, strong=True) is AlertSeverity.HIGH
    assert severity.of(AlertRule.TIER_D, strong=True) is AlertSeverity(table["tier_d"])
    # The workflows read their part of the policy, with the same severities.
    assert policy.supervision.alert_severity == severity
    changed = parse_policy(
        edited(
            alerts__severity__penalty_serious="critical",
            alerts__disposition__penalty_serious="board",
        )  # fmt: skip
    )
    assert changed.alerts.severity.of(AlertRule.PENALTY_SERIOUS) is AlertSeverity.CRITICAL


def test_each_rule_s_disposition_comes_from_the_policy_graded_like_its_severity() -> None:
    alerts = load_policy().alerts
    table = BUNDLED["alerts"]["disposition"]
    assert set(table) == set(AlertRule)
    # A graded rule: the ordinary severity gets the first, the strong one the second.
    ordinary, strong = table["peer_outlier"]
    assert alerts.disposition_of("peer_outlier", "medium") is Disposition(ordinary)
    assert alerts.disposition_of("peer_outlier", "high") is Disposition(strong)
    assert alerts.disposition_of("tier_d", "critical") is Disposition.BOARD
    # An alert of no rule the policy knows (written before rules had ids) is on the board.
    assert alerts.disposition_of(None, "low") is Disposition.BOARD
    changed = parse_policy(edited(alerts__disposition__peer_outlier="case"))
    assert changed.alerts.disposition_of("peer_outlier", "high") is Disposition.CASE


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("alerts__disposition__tier_d", DELETE, "missing 'alerts.disposition.tier_d'"),
        ("alerts__disposition__tier_e", "board", "unknown alert rule 'alerts.disposition.tier_e'"),
        ("alerts__disposition__complaint_surge", "inbox", "must be one of board, case, digest"),
        ("alerts__disposition__peer_outlier", ["board", "case"], "seen at least as much"),
        ("alerts__disposition__tier_d", "digest", "critical alert must go to the board"),
        ("alerts__disposition", DELETE, "missing 'alerts.disposition'"),
    ],
)
def test_a_bad_disposition_table_is_named(path: str, value: Any, named: str) -> None:
    assert named in error_of(edited(**{path: value}))


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("alerts__severity__tier_d", DELETE, "missing 'alerts.severity.tier_d'"),
        ("alerts__severity__tier_e", "high", "unknown alert rule 'alerts.severity.tier_e'"),
        ("alerts__severity__tier_d", "urgent", "'alerts.severity.tier_d' must be one of"),
        ("alerts__severity__tier_d", ["high", "low"], "strong severity is below"),
        ("alerts__severity__tier_d", ["low", "medium", "high"], "a list of two"),
        ("alerts__severity", DELETE, "missing 'alerts.severity'"),
    ],
)
def test_a_bad_severity_table_is_named(path: str, value: Any, named: str) -> None:
    assert named in error_of(edited(**{path: value}))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"peers__high_spreads": 3.0}, "peers.high_spreads >= alert_spreads"),
        ({"cross_region__high_counties": 2}, "cross_region.high_counties >= min_counties"),
        ({"complaints__surge_days": 30}, "complaints.surge_days < baseline_days"),
        ({"complaints__baseline_days": 31}, "<= 30"),
        ({"complaints__surge_days": 0}, "0 < complaints.surge_days"),
        ({"peers__high_spreads": DELETE}, "missing 'peers.high_spreads'"),
    ],
)
def test_the_bounds_of_strong_alerts_and_surge_windows_are_checked(
    changes: dict[str, Any], named: str
) -> None:
    assert named in error_of(edited(**changes))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"peers__alert_surprise": -1.0}, "peers.alert_surprise >= 0"),
        ({"peers__max_held_share": 0.5}, "0 <= peers.max_held_share < 0.5"),
        ({"peers__max_held_share": DELETE}, "missing 'peers.max_held_share'"),
        ({"cross_region__baseline_days": 0}, "1 <= cross_region.baseline_days <= 366"),
        ({"cross_region__baseline_days": 400}, "1 <= cross_region.baseline_days <= 366"),
        ({"cross_region__surge_surprise": 0.0}, "cross_region.surge_surprise > 0"),
        ({"cross_region__min_expected": 0.0}, "min_expected > 0"),
        ({"cross_region__season_prior_complaints": -1.0}, "season_prior_complaints >= 0"),
        ({"cross_region__surge_surprise": DELETE}, "missing 'cross_region.surge_surprise'"),
        ({"cross_sector__unusual_share": 1.0}, "0 < cross_sector.unusual_share < 1"),
    ],
)
def test_the_river_models_numbers_are_checked(changes: dict[str, Any], named: str) -> None:
    assert named in error_of(edited(**changes))


def test_the_numbers_once_in_code_keep_their_values() -> None:
    """Moved to the policy file, they decide exactly what they decided before."""
    policy = load_policy()
    assert policy.peers.high_spreads == 2 * policy.peers.alert_spreads
    assert policy.cross_region.high_counties == 2 * policy.cross_region.min_counties
    assert (policy.complaints.surge_days, policy.complaints.baseline_days) == (7, 30)


# --- seed 六: the key sectors' weights and tier bounds


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sectors__finance": DELETE}, "missing ['finance']"),
        ({"sectors__other": {"adverse_weight": 1.0}}, "unknown ['other']"),
        ({"sectors__education__adverse_weight": 0}, "'sectors.education.adverse_weight'"),
        ({"sectors__education__adverse_weight": 6}, "'sectors.education.adverse_weight'"),
        ({"sectors__education__adverse_weight": DELETE}, "'sectors.education.adverse_weight'"),
        ({"sectors__production_safety__c_from": 20.0}, "'sectors.production_safety.'"),
        ({"sectors__finance__hysteresis": 30.0}, "'sectors.finance.hysteresis'"),
    ],
)
def test_a_broken_sector_is_refused_naming_it(change: dict[str, Any], named: str) -> None:
    assert named in error_of(edited(**change))


def test_a_sector_sets_only_the_bounds_it_names_and_follows_the_policy_for_the_rest() -> None:
    policy = load_policy()
    safety = policy.tiers_for("production_safety")
    assert (safety.b_from, safety.c_from, safety.d_from) == (policy.tiers.b_from, 45.0, 70.0)
    assert policy.tiers_for("other") == policy.tiers == policy.tiers_for("finance")
    # A policy whose [tiers] moves moves every sector's unnamed bounds with it.
    moved = dataclasses.replace(policy, tiers=dataclasses.replace(policy.tiers, b_from=20.0))
    assert moved.tiers_for("production_safety").b_from == 20.0


def test_only_adverse_records_are_weighed_by_their_sector() -> None:
    policy = load_policy()
    assert policy.weight("production_safety", "penalty_general") == 1.3
    assert policy.weight("production_safety", "honour") == 1.0  # positive records are not
    assert policy.weight("other", "penalty_general") == 1.0
