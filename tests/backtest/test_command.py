"""``creditwatch policy backtest``'s mistakes are messages, not tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditwatch.cli import main
from detectors.policy import DEFAULT_POLICY_PATH


def test_an_unreadable_store_or_policy_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("version = ", encoding="utf-8")
    assert main(["policy", "backtest", "--policy", str(broken)]) == 2
    assert "is not valid TOML" in capsys.readouterr().err
    assert main(["policy", "backtest", "--policy", str(tmp_path / "missing.toml")]) == 2
    assert "policy file not found" in capsys.readouterr().err
    nowhere = f"postgresql://backtest:s3cret@/none?host={tmp_path}"
    args = ["policy", "backtest", "--policy", str(DEFAULT_POLICY_PATH), "--database", nowhere]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and "s3cret" not in err


def test_a_window_bound_without_its_utc_offset_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["policy", "backtest", "--policy", str(DEFAULT_POLICY_PATH)]
    assert main([*args, "--since", "2026-11-01T08:00"]) == 2
    assert "--since needs a time zone (e.g. +08:00 or Z)" in capsys.readouterr().err
    assert main([*args, "--until", "November"]) == 2
    assert "--until must be a date (2026-03-01) or an ISO 8601 time" in capsys.readouterr().err
    assert main([*args, "--since", "2026-11-02", "--until", "2026-11-01"]) == 2
    assert "the window ends before it starts" in capsys.readouterr().err
