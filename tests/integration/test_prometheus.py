"""A real Prometheus scrapes a running worker, sees what it processed and evaluates our rules.

Uses the Debian package's server binary (``apt-get install prometheus``) on a
free loopback port, one server per module with its data in a temporary
directory. It also parses every Grafana dashboard query.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creditwatch.embedded import free_port
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import send

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus")
DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
RULES = DASHBOARDS / "prometheus" / "rules.yml"
WAIT_S = 45


class Prometheus:
    """A Prometheus server process and its HTTP API."""

    def __init__(self, binary: str, workdir: Path, worker_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        config = workdir / "prometheus.yml"
        # JSON is YAML. Scrape and evaluate every second so the test is quick;
        # the job name is the one rules and dashboards select.
        config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {
                            "job_name": "creditwatch",
                            "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
                        }
                    ],
                }
            )
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:  # a bad query answers 400 with the reason
            body = json.loads(error.read())
        assert body["status"] == "success", f"{params}: {body.get('error')}"
        return body["data"]

    def ready(self) -> bool:
        assert self.process.poll() is None, f"Prometheus exited:\n{self.log_tail()}"
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def value(self, promql: str) -> float | None:
        """The value of a query that returns at most one series, None if it returns none."""
        result = self.get("/api/v1/query", query=promql)["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def prometheus(
    pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    if PROMETHEUS is None:
        pytest.skip("the prometheus server binary is not on PATH (apt-get install prometheus)")
    server = Prometheus(PROMETHEUS, tmp_path_factory.mktemp("prometheus"), pipeline.worker.web_port)
    try:
        wait_until(server.ready, 30, "Prometheus to be ready")
        yield server
    finally:
        server.stop()


def test_prometheus_sees_processed_events_and_evaluates_the_rules(
    pipeline: Pipeline, prometheus: Prometheus
):
    subject = make_uscc(600)
    consumed = 'sum(creditwatch_events_consumed_total{topic="enforcement.events"})'

    # Two batches, seconds apart: the counter must be seen rising for rate() to be > 0.
    send(pipeline, enforcement(subject, "prom-1", "spot_check", 5, result="passed"))
    wait_until(lambda: prometheus.value(consumed) == 1, WAIT_S, "Prometheus to see 1 event")
    send(
        pipeline,
        enforcement(subject, "prom-2", "spot_check", 4, result="passed"),
        enforcement(subject, "prom-3", "penalty", 3, severity="minor"),
    )
    wait_until(lambda: prometheus.value(consumed) == 3, WAIT_S, "Prometheus to see 3 events")

    assert prometheus.value('up{job="creditwatch"}') == 1
    # The recording rules run against the worker's real series and labels.
    throughput = 'topic:creditwatch_events_consumed:rate5m{topic="enforcement.events"}'
    wait_until(
        lambda: (prometheus.value(throughput) or 0) > 0, WAIT_S, "the throughput recording rule"
    )

    def rule_health() -> dict[str, str]:
        groups = prometheus.get("/api/v1/rules")["groups"]
        return {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}

    try:
        wait_until(lambda: set(rule_health().values()) == {"ok"}, WAIT_S, "every rule to evaluate")
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}; rule health: {rule_health()}") from None
    assert {"CreditwatchWorkerDown", "CreditwatchNoEventsConsumed"} <= rule_health().keys()


def grafana_to_promql(expr: str) -> str:
    """What Grafana sends for an expression, with every variable set to "All"."""
    expr = re.sub(r"\$__rate_interval|\$__interval", "1m", expr)
    expr = expr.replace("$__range", "1h")
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def test_every_dashboard_query_is_valid_promql(prometheus: Prometheus):
    # Only Prometheus' own parser can tell; the dashboards' JSON is never checked otherwise.
    queries = 0
    for path in sorted((DASHBOARDS / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                prometheus.get("/api/v1/query", query=grafana_to_promql(target["expr"]))
                queries += 1
    assert queries >= 10
