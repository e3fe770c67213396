"""The Numenta Anomaly Benchmark (NAB v1.1) scoring method, reimplemented.

This follows NAB's own code (``nab/sweeper.py``, ``nab/optimizer.py``,
``nab/scorer.py`` and ``Runner.normalize`` in ``nab/runner.py``) rather than
the paper's prose, because the two differ in details that move the score:

* **Probation.** The first ``min(floor(0.15 * n), 0.15 * 5000)`` rows of each
  file (at most 750) are not scored; detectors use them to learn.
* **Windows.** Each labelled window ``[start, end]`` (both ends included) is a
  run of rows. Only the earliest detection in a window counts; it earns
  ``tpWeight * S(p) / S(-1)`` where ``p = -(right - i + 1) / width`` and
  ``S(p) = 2 * sigmoid(-5 p) - 1`` is the scaled sigmoid.
* **False positives.** A detection outside every window costs
  ``fpWeight * S(d)`` (``S`` is negative there), with ``d`` the distance past
  the preceding window's right edge divided by ``(width - 1)`` of that window;
  with no preceding window (or ``d > 3``) it costs the full ``fpWeight``.
* **Missed windows** cost ``fnWeight`` each.
* **Threshold.** One threshold per profile, chosen by sweeping every distinct
  anomaly score of the whole corpus at once (NAB's sweeper); a row is a
  detection when its score is ``>=`` the threshold. Ties in the best score go
  to the highest threshold, as in NAB.
* **Normalisation.** ``100 * (raw - null) / (perfect - null)`` where ``null``
  is the optimised score of NAB's null detector (a constant 0.5) and
  ``perfect`` is ``tpWeight`` times the number of labelled windows.

That in-sample figure flatters a detector tuned on the same corpus, since the
threshold is fitted to the very windows it is scored on. So a second figure is
computed (not NAB's, ours): **leave one folder out**. For each data folder the
threshold is chosen, as above, on the *other* folders only and applied to it;
the folders' raw scores at their held-out thresholds are summed and normalised
the same way (the null detector going through the same protocol). This is how
a threshold fixed on this corpus fares on series it has never seen.

Profiles are NAB's ``config/profiles.json``: standard (TP 1.0, FP 0.11,
FN 1.0), reward_low_FP_rate (1.0, 0.22, 1.0), reward_low_FN_rate
(1.0, 0.11, 2.0).

Two deliberate robustness differences, neutral on NAB's own data: a window
whose ends are not exact row timestamps starts at the first row at or after
``start`` and ends at the last row at or before ``end`` (NAB would silently
never enter it), and a one-row window does not divide by zero when scoring
the false positives after it (NAB raises).
"""

from __future__ import annotations

import csv
import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PROBATION_PERCENT = 0.15
# NAB caps probation at probationPercent * 5000 rows (750 at 15 %).
PROBATION_CAP_ROWS = 5000
LABELS_PATH = Path("labels") / "combined_windows.json"
DATA_DIR = "data"
# Above every score in [0, 1]: the sweep starts with "nothing detected".
NO_DETECTION_THRESHOLD = 1.1
NULL_DETECTOR_SCORE = 0.5


@dataclass(frozen=True)
class Profile:
    """An application profile: how much a TP, FP and missed window weigh."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES: tuple[Profile, ...] = (
    Profile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    Profile("reward_low_FP_rate", tp_weight=1.0, fp_weight=0.22, fn_weight=1.0),
    Profile("reward_low_FN_rate", tp_weight=1.0, fp_weight=0.11, fn_weight=2.0),
)

Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class LabelledSeries:
    """One data file with its anomaly windows; ``name`` is ``folder/file.csv``."""

    name: str
    timestamps: tuple[datetime, ...]
    values: tuple[float, ...]
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class ThresholdScore:
    """The corpus score if every row scoring ``>= threshold`` is a detection.

    Counts are rows, as in NAB: ``tp`` detected rows inside windows, ``fp``
    detected rows outside, ``fn`` undetected rows inside, ``tn`` the rest.
    """

    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


@dataclass(frozen=True)
class FileResult:
    """One file's share of a profile's score at the corpus-wide threshold."""

    name: str
    score: float
    windows: int
    windows_detected: int
    false_positive_rows: int


@dataclass(frozen=True)
class FoldResult:
    """One data folder held out: its score at the threshold chosen on the others."""

    folder: str
    threshold: float  # chosen on every other folder
    raw_score: float  # this folder's score at that threshold
    in_sample_raw_score: float  # this folder's score at the corpus-wide threshold
    null_score: float  # the null detector's, through the same protocol


@dataclass(frozen=True)
class ProfileResult:
    """A profile's outcome: raw and normalised scores, the file breakdown and
    the leave-one-folder-out folds (empty for a corpus of one folder)."""

    profile: Profile
    threshold: float
    raw_score: float
    null_score: float
    perfect_score: float
    files: tuple[FileResult, ...]
    folds: tuple[FoldResult, ...] = ()

    @property
    def normalised(self) -> float:
        """0 for the null detector, 100 for a perfect one."""
        return _normalise(self.raw_score, self.null_score, self.perfect_score)

    @property
    def held_out_normalised(self) -> float | None:
        """The leave-one-folder-out score, normalised like :attr:`normalised`."""
        if not self.folds:
            return None
        raw = sum(fold.raw_score for fold in self.folds)
        null = sum(fold.null_score for fold in self.folds)
        return _normalise(raw, null, self.perfect_score)


def _normalise(raw: float, null: float, perfect: float) -> float:
    span = perfect - null
    return 100.0 * (raw - null) / span if span else 0.0


def folder_of(name: str) -> str:
    """The data folder of a corpus file name (``folder/file.csv``)."""
    return name.split("/", 1)[0] if "/" in name else ""


# --- loading ------------------------------------------------------------------------------


def parse_timestamp(text: str) -> datetime:
    """Parse a NAB timestamp (naive ``YYYY-MM-DD HH:MM:SS[.ffffff]``) as UTC."""
    parsed = datetime.fromisoformat(text.strip())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def read_series_csv(path: Path) -> tuple[tuple[datetime, ...], tuple[float, ...]]:
    """Read a ``timestamp,value`` CSV."""
    timestamps: list[datetime] = []
    values: list[float] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            timestamps.append(parse_timestamp(row["timestamp"]))
            values.append(float(row["value"]))
    return tuple(timestamps), tuple(values)


def load_corpus(root: Path) -> list[LabelledSeries]:
    """Load every labelled file of a NAB-layout folder, in sorted name order.

    Files are those listed in ``labels/combined_windows.json``; a listed file
    missing under ``data/`` is an error, since scoring without it would
    silently change the benchmark.
    """
    labels_file = root / LABELS_PATH
    labels: dict[str, list[list[str]]] = json.loads(labels_file.read_text())
    corpus = []
    for name in sorted(labels):
        path = root / DATA_DIR / name
        if not path.is_file():
            raise FileNotFoundError(f"{labels_file} lists {name!r} but {path} does not exist")
        timestamps, values = read_series_csv(path)
        windows = tuple((parse_timestamp(a), parse_timestamp(b)) for a, b in labels[name])
        corpus.append(LabelledSeries(name, timestamps, values, windows))
    return corpus


# --- per-row geometry (profile independent) ----------------------------------------------


def probation_length(rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that NAB does not score."""
    return math.floor(min(math.floor(percent * rows), percent * PROBATION_CAP_ROWS))


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: ~1 at the left edge of a window, 0 at its right
    edge, towards -1 past it (exactly -1 beyond three window widths)."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True)
class _RowGeometry:
    """Where each row sits relative to the windows; -1 means "no window"."""

    window: tuple[int, ...]
    # In a window: relative position in [-1, 0); outside: distance past the
    # preceding window in widths (inf when none precedes).
    position: tuple[float, ...]
    scored: tuple[bool, ...]


def _window_spans(
    timestamps: Sequence[datetime], windows: Iterable[Window]
) -> list[tuple[int, int]]:
    spans = []
    for start, end in windows:
        left = bisect_left(timestamps, start)
        right = bisect_right(timestamps, end) - 1
        if left <= right:
            spans.append((left, right))
    return spans


def _row_geometry(series: LabelledSeries) -> _RowGeometry:
    rows = len(series.timestamps)
    window = [-1] * rows
    position = [math.inf] * rows
    spans = _window_spans(series.timestamps, series.windows)
    for k, (left, right) in enumerate(spans):
        width = right - left + 1
        for i in range(left, right + 1):
            window[i] = k
            position[i] = -(right - i + 1) / width
        # False positives are measured from the most recent window's right edge.
        next_left = spans[k + 1][0] if k + 1 < len(spans) else rows
        past_scale = max(width - 1, 1)
        for i in range(right + 1, next_left):
            position[i] = (i - right) / past_scale
    probation = probation_length(rows)
    scored = tuple(i >= probation for i in range(rows))
    return _RowGeometry(tuple(window), tuple(position), scored)


def _sweep_scores(geometry: _RowGeometry, profile: Profile) -> list[float]:
    """NAB's per-row "sweep score": the reward if this row were a detection."""
    max_tp = scaled_sigmoid(-1.0)
    return [
        scaled_sigmoid(p) * profile.tp_weight / max_tp
        if w >= 0
        else scaled_sigmoid(p) * profile.fp_weight
        for w, p in zip(geometry.window, geometry.position, strict=True)
    ]


# --- threshold sweep and scoring ---------------------------------------------------------


@dataclass(frozen=True)
class _Point:
    anomaly_score: float
    sweep_score: float
    window_key: tuple[int, int] | None  # (file index, window index)


def _scorable_points(
    geometries: Sequence[_RowGeometry],
    scores: Sequence[Sequence[float]],
    profile: Profile,
    files: Iterable[int] | None = None,
) -> list[_Point]:
    """The scored rows of every file, or of the files whose indices are given."""
    points = []
    chosen = range(len(geometries)) if files is None else files
    for f in chosen:
        geometry, file_scores = geometries[f], scores[f]
        sweep = _sweep_scores(geometry, profile)
        for i, anomaly_score in enumerate(file_scores):
            if geometry.scored[i]:
                w = geometry.window[i]
                key = (f, w) if w >= 0 else None
                points.append(_Point(anomaly_score, sweep[i], key))
    return points


def sweep_thresholds(points: Sequence[_Point], fn_weight: float) -> list[ThresholdScore]:
    """Score every candidate threshold, highest first (NAB's ``calcScoreByThreshold``)."""
    ranked = sorted(points, key=lambda p: p.anomaly_score, reverse=True)
    window_parts = {p.window_key: -fn_weight for p in ranked if p.window_key is not None}
    fp_part = 0.0
    tn = sum(1 for p in ranked if p.window_key is None)
    fn = len(ranked) - tn
    tp = fp = 0
    results = []
    threshold = NO_DETECTION_THRESHOLD
    for point in ranked:
        if point.anomaly_score != threshold:
            score = fp_part + sum(window_parts.values())
            results.append(ThresholdScore(threshold, score, tp, tn, fp, fn))
            threshold = point.anomaly_score
        if point.window_key is None:
            fp, tn = fp + 1, tn - 1
            fp_part += point.sweep_score
        else:
            tp, fn = tp + 1, fn - 1
            key = point.window_key
            window_parts[key] = max(window_parts[key], point.sweep_score)
    results.append(ThresholdScore(threshold, fp_part + sum(window_parts.values()), tp, tn, fp, fn))
    return results


def best_threshold(points: Sequence[_Point], fn_weight: float) -> ThresholdScore:
    """The highest-scoring threshold; ties go to the higher threshold, as in NAB."""
    return max(sweep_thresholds(points, fn_weight), key=lambda t: t.score)


def _file_result(
    series: LabelledSeries,
    geometry: _RowGeometry,
    scores: Sequence[float],
    profile: Profile,
    threshold: float,
) -> FileResult:
    sweep = _sweep_scores(geometry, profile)
    best_in_window: dict[int, float] = {}
    fp_score = 0.0
    fp_rows = 0
    for i, anomaly_score in enumerate(scores):
        w = geometry.window[i]
        if w >= 0 and geometry.scored[i]:
            best_in_window.setdefault(w, -profile.fn_weight)
        if not geometry.scored[i] or anomaly_score < threshold:
            continue
        if w >= 0:
            best_in_window[w] = max(best_in_window[w], sweep[i])
        else:
            fp_score += sweep[i]
            fp_rows += 1
    detected = sum(1 for v in best_in_window.values() if v > -profile.fn_weight)
    score = fp_score + sum(best_in_window.values())
    return FileResult(series.name, score, len(series.windows), detected, fp_rows)


def score_corpus(
    corpus: Sequence[LabelledSeries],
    scores: Mapping[str, Sequence[float]],
    profiles: Sequence[Profile] = PROFILES,
) -> list[ProfileResult]:
    """Score a detector's per-row anomaly scores (each in [0, 1]) on a corpus."""
    for series in corpus:
        if len(scores[series.name]) != len(series.values):
            raise ValueError(
                f"{series.name}: {len(scores[series.name])} scores for {len(series.values)} rows"
            )
    geometries = [_row_geometry(series) for series in corpus]
    ordered = [scores[series.name] for series in corpus]
    null_scores = [[NULL_DETECTOR_SCORE] * len(series.values) for series in corpus]
    windows = sum(len(series.windows) for series in corpus)
    results = []
    for profile in profiles:
        best = best_threshold(_scorable_points(geometries, ordered, profile), profile.fn_weight)
        null = best_threshold(_scorable_points(geometries, null_scores, profile), profile.fn_weight)
        files = tuple(
            _file_result(series, geometry, file_scores, profile, best.threshold)
            for series, geometry, file_scores in zip(corpus, geometries, ordered, strict=True)
        )
        folds = _held_out_folds(corpus, geometries, ordered, null_scores, profile, files)
        results.append(
            ProfileResult(
                profile,
                best.threshold,
                best.score,
                null.score,
                windows * profile.tp_weight,
                files,
                folds,
            )
        )
    return results


def _held_out_folds(
    corpus: Sequence[LabelledSeries],
    geometries: Sequence[_RowGeometry],
    scores: Sequence[Sequence[float]],
    null_scores: Sequence[Sequence[float]],
    profile: Profile,
    in_sample: Sequence[FileResult],
) -> tuple[FoldResult, ...]:
    """Each folder scored at the threshold that is best on all the other folders."""
    folders: dict[str, list[int]] = {}
    for f, series in enumerate(corpus):
        folders.setdefault(folder_of(series.name), []).append(f)
    if len(folders) < 2:
        return ()

    def held_out(
        detector_scores: Sequence[Sequence[float]], held: list[int]
    ) -> tuple[float, float]:
        others = [f for f in range(len(corpus)) if f not in held]
        points = _scorable_points(geometries, detector_scores, profile, others)
        threshold = best_threshold(points, profile.fn_weight).threshold
        raw = sum(
            _file_result(corpus[f], geometries[f], detector_scores[f], profile, threshold).score
            for f in held
        )
        return threshold, raw

    folds = []
    for folder, held in folders.items():
        threshold, raw = held_out(scores, held)
        _, null = held_out(null_scores, held)
        in_sample_raw = sum(in_sample[f].score for f in held)
        folds.append(FoldResult(folder, threshold, raw, in_sample_raw, null))
    return tuple(folds)


# --- running a detector and reporting -----------------------------------------------------

SeriesScorer = Callable[[LabelledSeries], list[float]]


def run_detector(
    corpus: Sequence[LabelledSeries],
    score_series: SeriesScorer,
    progress: Callable[[int, int, LabelledSeries], None] | None = None,
) -> dict[str, list[float]]:
    """Score each file with a fresh, strictly online detector."""
    scores = {}
    for i, series in enumerate(corpus):
        if progress is not None:
            progress(i, len(corpus), series)
        scores[series.name] = score_series(series)
    return scores


def format_report(results: Sequence[ProfileResult]) -> str:
    """Per-profile scores (in sample and leave one folder out), the folds, then
    each file's score under every profile."""
    lines = [
        "NAB score per profile (null detector = 0, perfect = 100)",
        f"  {'profile':<20} {'in-sample':>9} {'leave-one-folder-out':>21}",
    ]
    for result in results:
        held_out = result.held_out_normalised
        held_text = f"{held_out:21.2f}" if held_out is not None else f"{'n/a':>21}"
        lines.append(
            f"  {result.profile.name:<20} {result.normalised:9.2f} {held_text}"
            f"   (raw {result.raw_score:8.3f}, null {result.null_score:8.3f}, "
            f"perfect {result.perfect_score:6.1f}, threshold {result.threshold:.6f})"
        )
    lines.append("")
    lines.extend(_format_folds(results))
    lines.append("")
    header = f"{'file':<56}" + "".join(f"{r.profile.name:>20}" for r in results)
    lines.append(header + f"{'windows hit':>13}{'FP rows':>9}")
    first = results[0]
    for k, file_result in enumerate(first.files):
        cells = "".join(f"{r.files[k].score:20.3f}" for r in results)
        hit = f"{file_result.windows_detected}/{file_result.windows}"
        lines.append(f"{file_result.name:<56}{cells}{hit:>13}{file_result.false_positive_rows:>9}")
    lines.append(f"(per-file columns are raw scores; hits and FP rows: {first.profile.name})")
    return "\n".join(lines)


def _format_folds(results: Sequence[ProfileResult]) -> list[str]:
    if not results or not results[0].folds:
        return ["leave-one-folder-out: needs at least two data folders"]
    lines = [
        "leave-one-folder-out: each folder at the threshold chosen on the others "
        "(raw score held out / in sample)"
    ]
    lines.append(f"{'folder':<28}" + "".join(f"{r.profile.name:>30}" for r in results))
    for k, fold in enumerate(results[0].folds):
        cells = "".join(
            f"  {r.folds[k].raw_score:9.3f} /{r.folds[k].in_sample_raw_score:8.3f}"
            f" @ {r.folds[k].threshold:.4f}"
            for r in results
        )
        lines.append(f"{fold.folder:<28}{cells}")
    return lines
