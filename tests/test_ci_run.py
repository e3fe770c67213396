"""``.ci/run`` fails when any step fails, and runs the tests with ``CI=true``.

The script runs in a copy of the repository whose tools are stubs that record
their call and exit with the status the test chooses, so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STEPS = ("pip", "pytest", "ruff", "mypy")
STUB = """#!/bin/sh
echo "$(basename "$0") CI=${CI:-}" >> "$CALLS"
exit "${STATUS:-0}"
"""


def stub(path: Path, status: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STUB.replace("${STATUS:-0}", str(status)), encoding="utf-8")
    path.chmod(0o755)


def ci_run(tmp_path: Path, **statuses: int) -> tuple[int, list[str]]:
    """Run a copy of ``.ci/run``; ``statuses`` gives a step's exit status (default 0)."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(REPO / ".ci" / "run", repo / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    stub(bin_dir / "apt-get", 0)  # never the real one
    stub(bin_dir / "python3", statuses.get("venv", 0))  # python3 -m venv .venv
    for step in STEPS:
        stub(repo / ".venv" / "bin" / step, statuses.get(step, 0))
    calls = tmp_path / "calls"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", CALLS=str(calls))
    result = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, timeout=60
    )
    called = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result.returncode, called


def test_every_step_runs_and_the_tests_run_with_ci_true(tmp_path: Path):
    status, called = ci_run(tmp_path)
    assert status == 0
    assert [line.split()[0] for line in called] == ["apt-get", "apt-get", "python3", *STEPS]
    assert "pytest CI=true" in called


@pytest.mark.parametrize("failing", ["venv", "pip", "pytest", "ruff", "mypy"])
def test_a_failing_step_fails_the_run_with_its_status(tmp_path: Path, failing: str):
    status, called = ci_run(tmp_path, **{failing: 3})
    assert status == 3, called
    if failing in ("venv", "pip"):
        assert not any(line.startswith("pytest") for line in called)  # nothing tested
