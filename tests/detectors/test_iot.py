"""The IoT stream detector on seeded synthetic series, and the hard-limit rule."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from river import stats

from detectors.iot import (
    DetectorParams,
    StreamAnomalyDetector,
    _ew_update,
    breaches_limit,
    limit_exceedance,
)

START = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
ALERT = 0.8  # well above anything the quiet series below reach
FLAG = 0.7  # about the threshold NAB's optimiser picks for the default detector


def noisy(n: int, seed: int, level: float = 50.0, sigma: float = 1.0) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0.0, sigma) for _ in range(n)]


def feed(detector: StreamAnomalyDetector, values: list[float], first: int = 0) -> list[float]:
    return [detector.update(START + (first + i) * STEP, v) for i, v in enumerate(values)]


def trained(seed: int = 1, n: int = 800) -> StreamAnomalyDetector:
    detector = StreamAnomalyDetector()
    feed(detector, noisy(n, seed))
    return detector


def test_warmup_is_quiet_even_for_wild_input() -> None:
    detector = StreamAnomalyDetector()
    rng = random.Random(3)
    warmup = detector.params.warmup
    wild = [rng.choice([0.0, 1e3, -50.0]) + rng.random() for _ in range(warmup)]

    assert feed(detector, wild[:-1]) == [0.0] * (warmup - 1)
    assert not detector.ready
    assert feed(detector, wild[-1:], first=warmup - 1) == [0.0]
    assert detector.ready


def test_quiet_series_stays_below_alert_level() -> None:
    scores = feed(StreamAnomalyDetector(), noisy(2000, seed=2))

    assert max(scores) < ALERT
    assert all(0.0 <= s < 1.0 for s in scores)


def test_spike_is_flagged() -> None:
    detector = trained()

    assert detector.update(START + 800 * STEP, 65.0) > ALERT


def test_level_shift_is_flagged_then_absorbed() -> None:
    detector = trained()
    shifted = noisy(600, seed=4, level=58.0)

    scores = feed(detector, shifted, first=800)

    assert max(scores[:20]) > ALERT
    assert max(scores[-200:]) < FLAG  # the new level became the baseline: no endless alerts


def test_slow_drift_is_flagged() -> None:
    drift = [v + 0.05 * i for i, v in enumerate(noisy(400, seed=5))]  # 20 sigma in 400 points

    drifting = feed(trained(), drift, first=800)
    control = feed(trained(), noisy(400, seed=5), first=800)

    # Noise alone may set the odd new record; a drift keeps setting them.
    assert sum(s > FLAG for s in drifting) >= sum(s > FLAG for s in control) + 3


@pytest.mark.parametrize("ramp", [24, 48, 72])
def test_a_persistent_ramp_alerts_as_drift_where_noise_does_not(ramp: int) -> None:
    """A sensor creeping 10 sigma up over a day or more (AR(1) noise, as real
    sensors have): too gradual for point and shift evidence, which adapt to it."""
    rng = random.Random(ramp)
    noise, values = 0.0, []
    for i in range(400):
        noise = 0.8 * noise + rng.gauss(0.0, 0.6)
        values.append(50.0 + noise + (10.0 * min(1.0, (i - 299) / ramp) if i >= 300 else 0.0))
    detector = StreamAnomalyDetector()
    scored = [detector.observe(START + i * STEP, v) for i, v in enumerate(values)]
    before = max(score for score, _ in scored[:300])
    score, why = max(scored[300:], key=lambda pair: pair[0])
    assert before < ALERT <= score
    assert why.feature == "drift"


def test_flagged_point_is_not_learned() -> None:
    detector = trained()
    before = detector.explain(START + 800 * STEP, 50.0)

    assert detector.update(START + 800 * STEP, 1e4) > ALERT
    after = detector.explain(START + 801 * STEP, 50.0)

    assert after.expected == pytest.approx(before.expected, abs=0.5)
    assert after.spread == pytest.approx(before.spread, rel=0.05)
    assert after.baseline_mean == before.baseline_mean


def test_explain_names_baseline_deviation_and_window() -> None:
    detector = trained()

    why = detector.explain(START + 800 * STEP, 60.0)

    assert why.ready and why.predictor in {"last", "level", "season"}
    assert why.expected == pytest.approx(50.0, abs=1.5)
    assert why.deviation == pytest.approx((60.0 - why.expected) / why.spread)
    assert why.window == detector.params.score_window


def test_round_trip_gives_identical_scores() -> None:
    detector = trained(n=500)
    restored = StreamAnomalyDetector.from_dict(json.loads(json.dumps(detector.to_dict())))
    tail = noisy(300, seed=6) + [80.0] + noisy(50, seed=7, level=60.0)

    assert feed(restored, tail, first=500) == feed(detector, tail, first=500)


def test_restoring_malformed_state_fails_clearly() -> None:
    data = trained(n=200).to_dict()
    data["state"]["season"] = data["state"]["season"][:3]

    with pytest.raises(ValueError, match="season"):
        StreamAnomalyDetector.from_dict(data)


def test_state_is_bounded() -> None:
    detector = StreamAnomalyDetector()
    feed(detector, noisy(5000, seed=8))

    assert len(json.dumps(detector.to_dict())) < 10_000


def test_gaps_and_irregular_sampling_neither_crash_nor_storm() -> None:
    detector = StreamAnomalyDetector()
    rng = random.Random(9)
    at = START
    scores = []
    for i in range(3000):
        at += timedelta(seconds=rng.uniform(60, 600))
        if i in (1000, 2000):
            at += timedelta(days=2)  # the device was offline
        scores.append(detector.update(at, 50.0 + rng.gauss(0.0, 1.0)))

    assert sum(s > ALERT for s in scores) <= 2


def test_periodic_series_does_not_alert_on_its_daily_pattern() -> None:
    rng = random.Random(10)
    days = 6
    values = [
        (80.0 if (i % 288) in range(100, 180) else 20.0) + rng.gauss(0.0, 1.0)
        for i in range(288 * days)
    ]

    scores = feed(StreamAnomalyDetector(), values)

    assert max(scores[288 * 3 :]) < ALERT


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        StreamAnomalyDetector().update(datetime(2024, 1, 1), 1.0)


def test_score_one_does_not_learn() -> None:
    detector = trained(n=300)
    before = detector.to_dict()

    detector.score_one({"value": 70.0, "timestamp": START + 300 * STEP})

    assert detector.to_dict() == before


def test_new_extreme_is_explained_as_range() -> None:
    detector = trained()

    why = detector.explain(START + 800 * STEP, 70.0)

    assert why.feature == "range"
    assert why.range_high is not None and why.range_high < 70.0
    assert why.score >= 0.75


def test_ew_statistics_match_river() -> None:
    # The docstring promises River's EW recurrences; check against River itself.
    rng = random.Random(12)
    river_mean, river_var = stats.EWMean(fading_factor=0.1), stats.EWVar(fading_factor=0.1)
    mean = var = 0.0
    for i in range(200):
        x = rng.gauss(5.0, 2.0)
        river_mean.update(x)
        river_var.update(x)
        mean, var = _ew_update(mean, var, x, 0.1, first=i == 0)

    assert mean == pytest.approx(river_mean.get(), rel=1e-12)
    assert var == pytest.approx(river_var.get(), rel=1e-12)


def test_invalid_params_are_rejected() -> None:
    with pytest.raises(ValueError):
        DetectorParams(score_window=0)


@pytest.mark.parametrize(
    ("value", "limit", "direction", "breach", "excess"),
    [
        (51.0, 50.0, "above", True, 1.0),
        (50.0, 50.0, "above", False, 0.0),
        (49.0, 50.0, "above", False, 0.0),
        (-2.0, 0.0, "below", True, 2.0),
        (0.0, 0.0, "below", False, 0.0),
    ],
)
def test_limit_breach(
    value: float, limit: float, direction: str, breach: bool, excess: float
) -> None:
    assert breaches_limit(value, limit, direction) is breach
    assert limit_exceedance(value, limit, direction) == excess


def test_limit_direction_must_be_known() -> None:
    with pytest.raises(ValueError):
        breaches_limit(1.0, 0.0, "sideways")


def test_observe_scores_like_update_and_explains_before_learning() -> None:
    rng = random.Random(3)
    updated, observed = StreamAnomalyDetector(), StreamAnomalyDetector()
    for i in range(400):
        value = 40.0 if i == 350 else 20.0 + rng.gauss(0.0, 1.0)
        expected_explanation = observed.explain(i * 300.0, value)
        score, explanation = observed.observe(i * 300.0, value)
        assert score == updated.update(i * 300.0, value)
        assert explanation == expected_explanation
    assert observed.to_dict() == updated.to_dict()
