"""The IoT stream detector on seeded synthetic series, and the hard-limit rule."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from river import stats

from detectors import river_codec
from detectors.iot import (
    DetectorParams,
    StreamAnomalyDetector,
    _ew_update,
    breaches_limit,
    limit_exceedance,
)
from detectors.policy import default_policy

START = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
ALERT = 0.8  # well above anything the quiet series below reach
FLAG = 0.7  # about the threshold NAB's optimiser picks for the default detector
# What the pipeline alerts at (policy iot.anomaly_threshold).
PIPELINE_ALERT = default_policy().iot.anomaly_threshold
V1_STATE = Path(__file__).parent / "data" / "iot_state_v1.json"
V2_STATE = Path(__file__).parent / "data" / "iot_state_v2.json"


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
    assert why is not None and why.feature == "drift"


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
    seen = detector.explain(START + 800 * STEP, 50.0)
    assert seen.range_low is not None and seen.range_high is not None
    # Just beyond every value seen: a small jump for the point surprise.
    value = seen.range_high + 0.05 * (seen.range_high - seen.range_low)

    why = detector.explain(START + 800 * STEP, value)

    assert why.feature == "range"
    assert why.range_high == seen.range_high < value
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


def test_only_points_at_the_alert_threshold_are_explained() -> None:
    rng = random.Random(3)
    explained, lazy = StreamAnomalyDetector(), StreamAnomalyDetector()
    threshold = default_policy().iot.anomaly_threshold
    reached = 0
    for i in range(400):
        value = 40.0 if i == 350 else 20.0 + rng.gauss(0.0, 1.0)
        score, full = explained.observe(i * 300.0, value)
        lazy_score, why = lazy.observe(i * 300.0, value, explain_at=threshold)
        assert lazy_score == score  # explaining or not, the model learns the same
        assert full is not None
        if full.score >= threshold:
            reached += 1
            assert why == full
        else:
            assert why is None and score < threshold  # below it, nothing could alert
    assert reached >= 1  # the spike at 350


# --- River models, their JSON state, and acceptance on seeded data (issue 16) -----------


def eventful(n: int = 3200, seed: int = 16) -> list[float]:
    """Five-minute readings with a daily cycle, then a spike, a level shift and a ramp."""
    rng = random.Random(seed)
    values = []
    for i in range(n):
        value = 50.0 + 5.0 * math.sin(2 * math.pi * i / 288) + rng.gauss(0.0, 1.0)
        value += 25.0 if i == 1500 else 0.0
        value += 8.0 if i >= 2000 else 0.0
        value += 0.05 * max(0, min(i - 2600, 200))
        values.append(value)
    return values


def observed(detector: StreamAnomalyDetector, values: list[float], first: int) -> list[Any]:
    return [detector.observe(START + (first + i) * STEP, v) for i, v in enumerate(values)]


@pytest.mark.parametrize("cut", [60, 700, 1501, 2005, 2650])
def test_restored_mid_stream_scores_and_explains_identically(cut: int) -> None:
    values = eventful()
    original = StreamAnomalyDetector()
    feed(original, values[:cut])
    # orjson is what the worker's model table uses.
    restored = StreamAnomalyDetector.from_dict(orjson.loads(orjson.dumps(original.to_dict())))

    tail = values[cut:]
    assert observed(restored, tail, cut) == observed(original, tail, cut)
    assert restored.to_dict() == original.to_dict()


def test_state_is_plain_json_naming_only_allowed_river_models() -> None:
    detector = StreamAnomalyDetector()
    feed(detector, eventful(900))

    data = json.loads(json.dumps(detector.to_dict(), allow_nan=False))

    assert data["models"] and {m["type"] for m in data["models"].values()} <= set(
        river_codec.CODECS
    )
    assert StreamAnomalyDetector.from_dict(data).to_dict() == detector.to_dict()


def _set_model_type(data: dict[str, Any]) -> None:
    data["models"]["level"]["type"] = "builtins.eval"


def _swap_models(data: dict[str, Any]) -> None:
    data["models"]["level"], data["models"]["recent"] = (
        data["models"]["recent"],
        data["models"]["level"],
    )


def _widen_window(data: dict[str, Any]) -> None:
    data["models"]["recent"]["params"]["window_size"] = 31


def _overfill_window(data: dict[str, Any]) -> None:
    data["models"]["recent"]["state"]["window"].append(1.0)


def _drop_models(data: dict[str, Any]) -> None:
    del data["models"]


def _text_for_number(data: dict[str, Any]) -> None:
    data["state"]["baseline_mean"] = "50"


def _negative_count(data: dict[str, Any]) -> None:
    data["state"]["n"] = -1


@pytest.mark.parametrize(
    "tamper",
    [
        _set_model_type,
        _swap_models,
        _widen_window,
        _overfill_window,
        _drop_models,
        _text_for_number,
        _negative_count,
    ],
)
def test_tampered_or_malformed_state_is_refused(tamper: Any) -> None:
    data = json.loads(json.dumps(trained(n=300).to_dict()))
    tamper(data)

    with pytest.raises(ValueError):
        StreamAnomalyDetector.from_dict(data)


def test_a_flagged_point_is_not_learned_by_the_forecasters() -> None:
    detector = trained()
    before = detector.explain(START + 801 * STEP, 50.0)

    assert detector.update(START + 800 * STEP, 90.0) > PIPELINE_ALERT
    after = detector.explain(START + 801 * STEP, 50.0)

    # The River level, the last value and the daily profile all ignored the spike:
    # whichever predictor is chosen expects what it expected before.
    assert after.predictor == before.predictor
    assert after.expected == pytest.approx(before.expected, abs=0.05)
    assert after.spread == pytest.approx(before.spread, rel=0.01)


def _noisy(seed: int) -> list[float]:
    return noisy(400, seed)


def _persistent(seed: int) -> list[float]:
    rng, x, out = random.Random(seed), 0.0, []
    for _ in range(400):
        x = 0.8 * x + 0.6 * rng.gauss(0.0, 1.0)  # AR(1), as the simulator's sensors
        out.append(round(50.0 + x, 2))
    return out


def _settling(seed: int) -> list[float]:
    rng = random.Random(seed)  # a new sensor settling towards its level
    return [20.0 + 30.0 * math.exp(-i / 40) + rng.gauss(0.0, 1.0) for i in range(400)]


def _daily(seed: int) -> list[float]:
    rng = random.Random(seed)  # 30-minute readings of a daily cycle
    return [50.0 + 10.0 * math.sin(2 * math.pi * i / 48) + rng.gauss(0.0, 1.0) for i in range(400)]


def _non_negative(seed: int) -> list[float]:
    rng = random.Random(seed)  # a gas reading near zero, clipped there
    return [max(0.0, round(4.0 + rng.gauss(0.0, 1.5), 2)) for _ in range(400)]


@pytest.mark.parametrize("series", [_noisy, _persistent, _settling, _daily, _non_negative])
def test_a_new_device_raises_no_alert_storm(series: Any) -> None:
    for seed in range(20):
        detector = StreamAnomalyDetector()
        scores = [
            detector.update(START + i * timedelta(minutes=30), v)
            for i, v in enumerate(series(seed))
        ]
        flagged_run = longest = 0
        for score in scores:
            flagged_run = flagged_run + 1 if score >= detector.params.learn_threshold else 0
            longest = max(longest, flagged_run)

        assert max(scores) < PIPELINE_ALERT, f"seed {seed}"
        assert longest <= 5, f"seed {seed}: {longest} flagged readings in a row"


@pytest.mark.parametrize("seed", [1, 3])
def test_a_persisting_change_of_regime_is_reported_as_drift_once(seed: int) -> None:
    """Spikes become ten times as frequent and stay so: one drift, not a drift
    every hundred readings while the slow baseline catches up."""
    rng = random.Random(seed)
    values = [
        20.0 + rng.gauss(0.0, 1.0) + (30.0 if i % 100 == 0 or (i >= 1000 and i % 10 == 0) else 0.0)
        for i in range(3000)
    ]
    detector = StreamAnomalyDetector()

    drifts = [
        i
        for i, (score, why) in enumerate(observed(detector, values, 0))
        if why.feature == "drift" and score >= PIPELINE_ALERT
    ]

    assert len(drifts) == 1 and drifts[0] > 1000


def test_state_of_the_hand_written_version_is_carried_over() -> None:
    """A deployment being upgraded keeps its devices warm (version-1 model table)."""
    old = json.loads(V1_STATE.read_text())

    detector = StreamAnomalyDetector.from_dict(old)

    assert detector.ready and detector.to_dict()["version"] == 3
    assert detector.state.n == old["state"]["n"]
    next_at = datetime.fromtimestamp(old["state"]["last_time"], UTC) + STEP
    quiet = [detector.update(next_at + i * STEP, v) for i, v in enumerate(noisy(300, seed=17))]
    assert max(quiet) < PIPELINE_ALERT
    assert detector.update(next_at + 300 * STEP, 65.0) > PIPELINE_ALERT


def test_explanations_name_the_pattern_surprise_once_a_day_is_seen() -> None:
    detector = StreamAnomalyDetector()
    values = eventful(600)
    feed(detector, values[:200])
    assert "pattern" not in detector.explain(START + 200 * STEP, values[200]).surprises

    feed(detector, values[200:], first=200)  # two days of five-minute readings
    why = detector.explain(START + 600 * STEP, 50.0)

    assert set(why.surprises) == {"point", "burst", "shift", "pattern"}  # no week yet


def daily(n: int, seed: int, step: timedelta = STEP) -> list[float]:
    """Readings every ``step`` with a daily course and noise."""
    rng = random.Random(seed)
    per_day = timedelta(days=1) / step
    course = [50.0 + 5.0 * math.sin(2 * math.pi * i / per_day) for i in range(n)]
    return [c + rng.gauss(0.0, 1.0) for c in course]


def test_state_of_version_2_is_carried_over_and_scores_as_before() -> None:
    """A device saved before the weekly profile keeps everything it learned: until the
    weekly surprise counts (``week_days``), it scores exactly as a detector that saw the
    same readings."""
    values = daily(864 + 300, seed=7)  # the fixture: the first 864 (three days)
    converted = StreamAnomalyDetector.from_dict(json.loads(V2_STATE.read_text()))
    fresh = StreamAnomalyDetector()
    feed(fresh, values[:864])

    assert converted.to_dict()["version"] == 3 and converted.state.n == 864
    assert feed(converted, values[864:], first=864) == feed(fresh, values[864:], first=864)


def test_the_week_surprise_counts_after_three_weeks_and_survives_a_restore() -> None:
    step = timedelta(minutes=30)
    values = daily(48 * 25, seed=3, step=step)
    detector = StreamAnomalyDetector()
    for i, value in enumerate(values[: 48 * 20]):
        detector.update(START + i * step, value)
    assert "week" not in detector.explain(START + 48 * 20 * step, 50.0).surprises

    for i, value in enumerate(values[48 * 20 : 48 * 23], start=48 * 20):
        detector.update(START + i * step, value)
    assert "week" in detector.explain(START + 48 * 23 * step, 50.0).surprises

    restored = StreamAnomalyDetector.from_dict(json.loads(json.dumps(detector.to_dict())))
    rest = list(enumerate(values[48 * 23 :], start=48 * 23))
    assert [restored.update(START + i * step, v) for i, v in rest] == [
        detector.update(START + i * step, v) for i, v in rest
    ]
