"""``creditwatch detect`` and ``creditwatch eval nab`` end to end, in process."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from creditwatch.cli import main


def write_series(path: Path, n: int, spike_at: int | None = None) -> None:
    rng = random.Random(11)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value"])
        for i in range(n):
            value = 100.0 if i == spike_at else 10.0 + rng.gauss(0.0, 1.0)
            writer.writerow(
                [(start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"), value]
            )


def test_detect_writes_one_scored_row_per_input_row(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(source, 500, spike_at=400)

    assert main(["detect", "--csv", str(source), "--out", str(out)]) == 0

    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 500
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    scores = [float(r["anomaly_score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(range(500), key=scores.__getitem__) == 400


def test_detect_writes_to_stdout_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    write_series(source, 50)

    assert main(["detect", "--csv", str(source)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "timestamp,value,anomaly_score"
    assert len(lines) == 51


def test_detect_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n2024-01-01 00:00:00,abc\n")

    assert main(["detect", "--csv", str(source)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_eval_nab_prints_profile_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path / "data.csv", 400, spike_at=300)
    (tmp_path / "data" / "f").mkdir(parents=True)
    (tmp_path / "data.csv").rename(tmp_path / "data" / "f" / "s.csv")
    (tmp_path / "labels").mkdir()
    window = ["2024-01-01 23:30:00.000000", "2024-01-02 01:40:00.000000"]
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps({"f/s.csv": [window]}))

    assert main(["eval", "nab", str(tmp_path)]) == 0

    captured = capsys.readouterr()
    assert "standard" in captured.out and "f/s.csv" in captured.out
    assert "[1/1] f/s.csv" in captured.err
