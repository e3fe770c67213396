"""Prometheus' own checker on our configuration, rules and rule unit tests.

Needs ``promtool`` on PATH (Debian: ``apt-get install prometheus``; CI installs
it). The rule unit tests in ``rules_test.yml`` show every alert firing and
staying quiet; see ``dashboards/prometheus/rules_test.yml``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not on PATH (apt-get install prometheus)"
)


def promtool(*args: str) -> str:
    assert PROMTOOL is not None
    # From another directory: paths inside the files must resolve relative to
    # the files, as they will inside the Prometheus container.
    result = subprocess.run(
        [PROMTOOL, *args],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_compose_prometheus_config_is_valid_and_loads_the_rules():
    output = promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert "rules.yml" in output


def test_rules_are_valid():
    promtool("check", "rules", str(PROMETHEUS_DIR / "rules.yml"))


def test_rule_unit_tests_pass():
    promtool("test", "rules", str(PROMETHEUS_DIR / "rules_test.yml"))
