"""``creditwatch eval``: offline evaluation of the detectors (``eval nab`` for now)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from creditwatch.evaluation import nab
from detectors.iot import StreamAnomalyDetector

# The NAB subset ships next to the repository checkout in this workspace; the
# absolute path covers running from elsewhere.
NAB_DIR_CANDIDATES = (Path("..") / "shared" / "nab", Path("/work/shared/nab"))


def default_nab_dir() -> Path:
    """First candidate holding ``labels/combined_windows.json``; else the first one."""
    for candidate in NAB_DIR_CANDIDATES:
        if (candidate / nab.LABELS_PATH).is_file():
            return candidate
    return NAB_DIR_CANDIDATES[0]


def score_series(series: nab.LabelledSeries) -> list[float]:
    """A fresh default detector per file, fed strictly in order."""
    detector = StreamAnomalyDetector()
    return [detector.update(t, v) for t, v in zip(series.timestamps, series.values, strict=True)]


def _progress(index: int, total: int, series: nab.LabelledSeries) -> None:
    print(
        f"[{index + 1}/{total}] {series.name} ({len(series.values)} rows)",
        file=sys.stderr,
        flush=True,
    )


def run_nab(args: argparse.Namespace) -> int:
    root: Path = args.directory if args.directory is not None else default_nab_dir()
    try:
        corpus = nab.load_corpus(root)
    except (OSError, ValueError, KeyError) as exc:
        print(f"creditwatch eval nab: cannot load a NAB corpus from {root}: {exc}", file=sys.stderr)
        return 2
    rows = sum(len(series.values) for series in corpus)
    print(f"scoring {len(corpus)} files, {rows} rows from {root}", file=sys.stderr)
    started = time.perf_counter()
    scores = nab.run_detector(corpus, score_series, progress=_progress)
    elapsed = time.perf_counter() - started
    print(
        f"detector: {rows / elapsed:,.0f} updates/s; optimising thresholds...",
        file=sys.stderr,
        flush=True,
    )
    print(nab.format_report(nab.score_corpus(corpus, scores)))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` sub-command with its own sub-commands."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate the detectors offline",
        description="Offline evaluation of the detectors against labelled benchmarks.",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    nab_parser = benchmarks.add_parser(
        "nab",
        help="score the IoT stream detector with the NAB method",
        description=(
            "Run the default IoT stream detector over every labelled file of a NAB-layout "
            "folder (data/<folder>/<file>.csv and labels/combined_windows.json), then print "
            "the NAB score per profile (null detector 0, perfect 100) and per file. "
            "Progress goes to stderr."
        ),
    )
    nab_parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="NAB-layout folder (default: ../shared/nab if it exists, else /work/shared/nab)",
    )
    nab_parser.set_defaults(func=run_nab)
