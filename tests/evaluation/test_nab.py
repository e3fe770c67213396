"""The NAB scorer on tiny hand-made corpora written to a temporary folder."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from creditwatch.evaluation import nab

START = datetime(2020, 1, 1, tzinfo=UTC)
ROWS = 1000  # probation = 150 rows
# One window of 21 rows per file, well after probation.
WINDOW = (600, 620)


def stamp(i: int) -> datetime:
    return START + timedelta(minutes=5 * i)


def text(i: int, fraction: bool = False) -> str:
    return stamp(i).strftime("%Y-%m-%d %H:%M:%S" + (".%f" if fraction else ""))


def write_corpus(root: Path, windows: dict[str, list[tuple[int, int]]]) -> list[nab.LabelledSeries]:
    labels = {}
    for name, spans in windows.items():
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value"] + [f"{text(i)},{i % 7}" for i in range(ROWS)]
        path.write_text("\n".join(lines) + "\n")
        labels[name] = [[text(a, fraction=True), text(b, fraction=True)] for a, b in spans]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    return nab.load_corpus(root)


@pytest.fixture
def corpus(tmp_path: Path) -> list[nab.LabelledSeries]:
    return write_corpus(
        tmp_path,
        {
            "a/one.csv": [WINDOW],
            "a/two.csv": [WINDOW],
            "b/quiet.csv": [],
        },
    )


def scores_with(
    corpus: list[nab.LabelledSeries], hits: dict[str, list[int]]
) -> dict[str, list[float]]:
    scores = {}
    for series in corpus:
        row = [0.0] * len(series.values)
        for i in hits.get(series.name, []):
            row[i] = 0.9
        scores[series.name] = row
    return scores


def standard(corpus: list[nab.LabelledSeries], hits: dict[str, list[int]]) -> float:
    results = nab.score_corpus(corpus, scores_with(corpus, hits))
    return next(r for r in results if r.profile.name == "standard").normalised


def test_loading_parses_utc_timestamps_and_windows(corpus: list[nab.LabelledSeries]) -> None:
    one = corpus[0]

    assert one.name == "a/one.csv"
    assert one.timestamps[0] == START and one.timestamps[0].tzinfo is UTC
    assert one.windows == ((stamp(600), stamp(620)),)


def test_probation_follows_nab() -> None:
    assert nab.probation_length(1000) == 150
    assert nab.probation_length(4032) == 604
    assert nab.probation_length(22695) == 750  # capped at 0.15 * 5000


def test_scaled_sigmoid_matches_nab_reference_points() -> None:
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(3.5) == -1.0


def test_no_detections_score_zero(corpus: list[nab.LabelledSeries]) -> None:
    for result in nab.score_corpus(corpus, scores_with(corpus, {})):
        assert result.normalised == 0.0


def test_perfect_detection_scores_100(corpus: list[nab.LabelledSeries]) -> None:
    hits = {"a/one.csv": [WINDOW[0]], "a/two.csv": [WINDOW[0]]}

    for result in nab.score_corpus(corpus, scores_with(corpus, hits)):
        assert result.normalised == pytest.approx(100.0)
        assert [f.windows_detected for f in result.files] == [1, 1, 0]


def test_false_positive_lowers_the_score(corpus: list[nab.LabelledSeries]) -> None:
    perfect = {"a/one.csv": [WINDOW[0]], "a/two.csv": [WINDOW[0]]}
    with_fp = {**perfect, "b/quiet.csv": [300]}

    assert standard(corpus, with_fp) < standard(corpus, perfect)
    result = nab.score_corpus(corpus, scores_with(corpus, with_fp))[0]
    # A false positive with no window before it costs the full fpWeight.
    assert result.raw_score == pytest.approx(2.0 - 0.11)


def test_false_positive_just_after_a_window_costs_less(
    corpus: list[nab.LabelledSeries],
) -> None:
    detected = {"a/one.csv": [WINDOW[0]], "a/two.csv": [WINDOW[0]]}
    near = {**detected, "a/one.csv": [WINDOW[0], WINDOW[1] + 2]}
    far = {**detected, "a/one.csv": [WINDOW[0], WINDOW[1] + 200]}

    assert standard(corpus, far) < standard(corpus, near) < standard(corpus, detected)


def test_earlier_detection_scores_higher(corpus: list[nab.LabelledSeries]) -> None:
    early = standard(corpus, {"a/one.csv": [WINDOW[0] + 2]})
    late = standard(corpus, {"a/one.csv": [WINDOW[1] - 2]})

    assert early > late > 0.0


def test_only_the_first_detection_in_a_window_counts(corpus: list[nab.LabelledSeries]) -> None:
    once = standard(corpus, {"a/one.csv": [WINDOW[0] + 5]})
    many = standard(corpus, {"a/one.csv": list(range(WINDOW[0] + 5, WINDOW[1] + 1))})

    assert many == pytest.approx(once)


def test_probation_rows_are_ignored(corpus: list[nab.LabelledSeries]) -> None:
    perfect = {"a/one.csv": [WINDOW[0]], "a/two.csv": [WINDOW[0]]}

    assert standard(corpus, {**perfect, "b/quiet.csv": list(range(150))}) == pytest.approx(100)
    assert standard(corpus, {**perfect, "b/quiet.csv": [150]}) < 100.0


def test_window_reward_matches_nab_formula(corpus: list[nab.LabelledSeries]) -> None:
    i = WINDOW[0] + 10
    results = nab.score_corpus(corpus, scores_with(corpus, {"a/one.csv": [i]}))
    width = WINDOW[1] - WINDOW[0] + 1
    position = -(WINDOW[1] - i + 1) / width
    reward = nab.scaled_sigmoid(position) / nab.scaled_sigmoid(-1.0)

    standard_result = results[0]
    assert standard_result.files[0].score == pytest.approx(reward)
    assert standard_result.raw_score == pytest.approx(reward - 1.0)


def test_threshold_is_shared_across_files(corpus: list[nab.LabelledSeries]) -> None:
    scores = scores_with(corpus, {})
    scores["a/one.csv"][WINDOW[0]] = 0.7  # true positive
    scores["b/quiet.csv"][500] = 0.8  # false positive above it
    result = nab.score_corpus(corpus, scores)[0]

    # Taking the TP means taking the higher-scoring FP too; it is still worth it.
    assert result.threshold == 0.7
    assert result.raw_score == pytest.approx(1.0 - 1.0 - 0.11)


def test_profiles_weigh_misses_and_false_positives_differently(
    corpus: list[nab.LabelledSeries],
) -> None:
    hits = {"a/one.csv": [WINDOW[0]], "b/quiet.csv": [300]}
    by_name = {r.profile.name: r for r in nab.score_corpus(corpus, scores_with(corpus, hits))}

    assert by_name["reward_low_FP_rate"].raw_score < by_name["standard"].raw_score
    assert by_name["reward_low_FN_rate"].null_score == -4.0
    assert math.isclose(by_name["standard"].perfect_score, 2.0)


def test_missing_data_file_is_an_error(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"a/one.csv": [WINDOW]})
    (tmp_path / "data" / "a" / "one.csv").unlink()

    with pytest.raises(FileNotFoundError, match="one.csv"):
        nab.load_corpus(tmp_path)


def test_report_lists_profiles_and_files(corpus: list[nab.LabelledSeries]) -> None:
    report = nab.format_report(nab.score_corpus(corpus, scores_with(corpus, {})))

    for name in ("standard", "reward_low_FP_rate", "reward_low_FN_rate", "a/one.csv"):
        assert name in report


@pytest.fixture
def two_folders(tmp_path: Path) -> list[nab.LabelledSeries]:
    return write_corpus(
        tmp_path,
        {
            "a/one.csv": [WINDOW],
            "a/two.csv": [WINDOW],
            "b/loud.csv": [WINDOW],
            "b/quiet.csv": [],
        },
    )


def test_leave_one_folder_out_uses_thresholds_chosen_on_the_other_folders(
    two_folders: list[nab.LabelledSeries],
) -> None:
    scores = scores_with(two_folders, {})
    scores["a/one.csv"][WINDOW[0]] = 0.9
    scores["a/two.csv"][WINDOW[0]] = 0.9
    # Folder b's own window is worth a low threshold only together with b's false positive.
    scores["b/loud.csv"][WINDOW[0]] = 0.6
    scores["b/quiet.csv"][300] = 0.6

    result = nab.score_corpus(two_folders, scores)[0]

    # In sample, one threshold (0.6) takes all three windows and the false positive.
    assert result.threshold == 0.6
    assert result.normalised == pytest.approx(100.0 * (3.0 - 0.11 + 3.0) / 6.0)
    folds = {fold.folder: fold for fold in result.folds}
    # Chosen on b alone, 0.6 still finds both of a's windows; chosen on a alone,
    # the highest of the best thresholds (0.9) misses b's window and skips its FP.
    assert folds["a"].threshold == 0.6 and folds["a"].raw_score == pytest.approx(2.0)
    assert folds["b"].threshold == 0.9 and folds["b"].raw_score == pytest.approx(-1.0)
    assert result.held_out_normalised == pytest.approx(100.0 * (2.0 - 1.0 + 3.0) / 6.0)


def test_leave_one_folder_out_of_a_perfect_detector_is_perfect(
    two_folders: list[nab.LabelledSeries],
) -> None:
    hits = {name: [WINDOW[0]] for name in ("a/one.csv", "a/two.csv", "b/loud.csv")}

    for result in nab.score_corpus(two_folders, scores_with(two_folders, hits)):
        assert result.held_out_normalised == pytest.approx(100.0)


def test_one_folder_has_no_held_out_score(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, {"a/one.csv": [WINDOW]})

    result = nab.score_corpus(corpus, scores_with(corpus, {"a/one.csv": [WINDOW[0]]}))[0]

    assert result.folds == () and result.held_out_normalised is None
    assert "leave-one-folder-out" in nab.format_report([result])


def test_report_prints_in_sample_and_held_out_scores_per_profile(
    two_folders: list[nab.LabelledSeries],
) -> None:
    hits = {"a/one.csv": [WINDOW[0]], "b/loud.csv": [WINDOW[0] + 5]}
    results = nab.score_corpus(two_folders, scores_with(two_folders, hits))

    report = nab.format_report(results)

    assert "leave-one-folder-out" in report
    for result in results:
        line = next(ln for ln in report.splitlines() if ln.strip().startswith(result.profile.name))
        assert f"{result.normalised:.2f}" in line
        assert f"{result.held_out_normalised:.2f}" in line
