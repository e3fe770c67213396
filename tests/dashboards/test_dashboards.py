"""Grafana dashboards and Prometheus rules use only what the worker exports.

A renamed metric or label does not break a dashboard loudly: the panel shows
"No data" and the alert never fires. So every expression in the dashboards and
in ``rules.yml`` is checked against the series and labels that
``streams.metrics`` and the archive sink's ``streams.archive.sink_metrics``
register (plus ``up``, and ``job``/``instance`` that Prometheus adds to every
scraped series).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import streams.metrics
from streams.archive import sink_metrics
from tests.dashboards.promql import Usage, usage, variable_usage
from topics.vocabulary import SHIJIAZHUANG_COUNTIES

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "dashboards" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCES_FILE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
RULES_FILE = REPO / "dashboards" / "prometheus" / "rules.yml"
RULES_TEST_FILE = REPO / "dashboards" / "prometheus" / "rules_test.yml"

TARGET_LABELS = frozenset({"job", "instance"})  # added by Prometheus at scrape time
# Series names a family of each type exposes (prometheus_client strips _total
# from a counter's family name).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "unknown": ("",),
}


def exported_series() -> dict[str, frozenset[str]]:
    """Every series name the worker's /metrics can serve, with its label names."""
    # prometheus_client has no public accessor for a family's label names until a
    # child exists, so read them from the collectors streams.metrics defines.
    declared = {
        collector._name: collector._labelnames
        for module in (streams.metrics, sink_metrics)
        for collector in vars(module).values()
        if isinstance(collector, MetricWrapperBase)
    }
    series: dict[str, frozenset[str]] = {"up": TARGET_LABELS}
    for family in REGISTRY.collect():
        labels = set(declared.get(family.name, ()))
        labels.update(name for sample in family.samples for name in sample.labels)
        for suffix in SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            if family.type == "summary" and suffix == "":
                extra = {"quantile"}
            series[family.name + suffix] = frozenset(labels | extra | TARGET_LABELS)
    return series


EXPORTED = exported_series()


def check_usage(found: Usage, known: dict[str, frozenset[str]], where: str) -> None:
    unknown = found.series - known.keys()
    assert not unknown, f"{where}: not exported by the worker: {sorted(unknown)}"
    allowed = frozenset().union(*(known[name] for name in found.series))
    assert found.labels <= allowed, (
        f"{where}: labels {sorted(found.labels - allowed)} are not on {sorted(found.series)}"
    )


def load_dashboard(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def datasource_refs(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            yield node["datasource"]
        for value in node.values():
            yield from datasource_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from datasource_refs(value)


def variable_query(variable: dict[str, Any]) -> str:
    query = variable.get("query", "")
    return query["query"] if isinstance(query, dict) else query


# --- the expression reader these checks rely on ------------------------------


@pytest.mark.parametrize(
    ("expr", "series", "labels"),
    [
        (
            'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{kind!="x"}[10m])))',
            {"a_bucket"},
            {"job", "le", "kind"},
        ),
        (
            '60 * sum by (region) (rate(a_total{region=~"$county"}[$__rate_interval]))',
            {"a_total"},
            {"region"},
        ),
        (
            "(sum(rate(a_total[10m])) or vector(0)) == 0 and on () sum(up) > 0",
            {"a_total", "up"},
            set(),
        ),
        ("deriv(x:y:sum[15m]) > 1e3 and x:y:sum offset 5m > 1000", {"x:y:sum"}, set()),
        ("sum(b) without (instance) / ignoring(topic) c", {"b", "c"}, {"instance", "topic"}),
        ("topk(10, sum(increase(a_total[$__range]))) by (region)", {"a_total"}, {"region"}),
    ],
)
def test_expression_reader_finds_series_and_labels(expr: str, series: set[str], labels: set[str]):
    assert usage(expr) == Usage(frozenset(series), frozenset(labels))


def test_variable_query_reader():
    assert variable_usage("label_values(a_total, region)") == Usage(
        frozenset({"a_total"}), frozenset({"region"})
    )
    assert variable_usage('label_values(a_total{kind="x"}, region)').labels == {"kind", "region"}


def test_known_series_include_every_worker_metric():
    # Guards the checks below against an empty registry passing everything.
    assert {
        "creditwatch_events_consumed_total",
        "creditwatch_event_to_alert_seconds_bucket",
        "creditwatch_consumer_lag_messages",
    } <= EXPORTED.keys()
    assert EXPORTED["creditwatch_alerts_total"] >= {"kind", "severity", "region"}


# --- Grafana -------------------------------------------------------------------


def test_both_dashboards_exist_with_unique_stable_uids():
    dashboards = [load_dashboard(path) for path in DASHBOARD_FILES]
    uids = [d.get("uid") for d in dashboards]
    assert sorted(uids) == ["creditwatch-operations", "creditwatch-overview"]
    for dashboard in dashboards:
        # Provisioned dashboards get their database id from Grafana.
        assert dashboard.get("id") is None
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{dashboard['uid']}: duplicate panel ids"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_panels_query_only_exported_metrics(path: Path):
    dashboard = load_dashboard(path)
    checked = 0
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            where = f"{path.name}: panel {panel.get('title')!r} target {target.get('refId')}"
            assert target.get("expr"), f"{where}: no PromQL expression"
            check_usage(usage(target["expr"]), EXPORTED, where)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_template_variables_query_exported_labels(path: Path):
    variables = load_dashboard(path)["templating"]["list"]
    assert variables, f"{path.name}: no template variables"
    for variable in variables:
        if variable["type"] == "query":
            found = variable_usage(variable_query(variable))
            check_usage(found, EXPORTED, f"{path.name}: variable {variable['name']}")


def test_datasource_references_match_the_provisioned_datasource():
    provisioned = yaml.safe_load(DATASOURCES_FILE.read_text(encoding="utf-8"))["datasources"]
    assert len(provisioned) == 1
    uid, kind = provisioned[0]["uid"], provisioned[0]["type"]
    for path in DASHBOARD_FILES:
        refs = list(datasource_refs(load_dashboard(path)))
        assert refs
        for ref in refs:
            if ref.get("type") == "grafana":
                continue  # Grafana's built-in annotations
            assert ref == {"type": kind, "uid": uid}, f"{path.name}: {ref}"


def test_top_counties_table_names_every_county():
    overview = load_dashboard(GRAFANA / "dashboards" / "overview.json")
    (table,) = [p for p in panels(overview) if p["title"] == "Top counties by alerts"]
    (override,) = [
        o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "County"
    ]
    (mapping,) = override["properties"][0]["value"]
    shown = {code: entry["text"] for code, entry in mapping["options"].items()}
    assert shown == {code: f"{code} {name}" for code, name in SHIJIAZHUANG_COUNTIES.items()}


# --- Prometheus rules ------------------------------------------------------------


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_rules_query_only_exported_metrics():
    known = dict(EXPORTED)
    for rule in rules():
        name = rule.get("record") or rule["alert"]
        found = usage(rule["expr"])
        check_usage(found, known, f"rules.yml: {name}")
        if "record" in rule:
            # A recorded series keeps (at most) the labels of what it is computed from.
            known[rule["record"]] = frozenset().union(*(known[s] for s in found.series))


def test_every_alert_is_tested_firing_and_quiet():
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    fires: set[str] = set()
    quiet: set[str] = set()
    for test in yaml.safe_load(RULES_TEST_FILE.read_text(encoding="utf-8"))["tests"]:
        for case in test.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert alerts >= {
        "CreditwatchWorkerDown",
        "CreditwatchNoEventsConsumed",
        "CreditwatchDeadLetterRatioHigh",
        "CreditwatchConsumerLagGrowing",
        "CreditwatchEventToAlertLatencyHigh",
    }
    assert alerts - fires == set(), "alerts never shown firing in rules_test.yml"
    assert alerts - quiet == set(), "alerts never shown quiet in rules_test.yml"
