"""The allow-listed JSON codec of the River objects the IoT detector keeps."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import orjson
import pytest
from river import proba, stats, time_series, utils

from detectors.river_codec import CodecError, decode, encode, number, to_float


def series(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [10.0 + math.sin(i / 5) + rng.gauss(0.0, 0.3) for i in range(n)]


def through_json(obj: Any, cls: type) -> Any:
    return decode(orjson.loads(orjson.dumps(encode(obj))), cls)


@pytest.mark.parametrize(
    "make",
    [
        lambda: time_series.HoltWinters(alpha=0.2),
        lambda: time_series.HoltWinters(alpha=0.3, beta=0.1),
        lambda: time_series.HoltWinters(alpha=0.3, beta=0.05, gamma=0.2, seasonality=7),
    ],
)
@pytest.mark.parametrize("cut", [1, 5, 40])
def test_holt_winters_forecasts_identically_after_a_round_trip(make: Any, cut: int) -> None:
    ys = series(80, seed=cut)
    model = make()
    for y in ys[:cut]:
        model.learn_one(y)
    restored = through_json(model, time_series.HoltWinters)

    for y in ys[cut:]:
        if model._initialized:
            assert restored.forecast(3) == model.forecast(3)
        model.learn_one(y)
        restored.learn_one(y)
    assert encode(restored) == encode(model)


@pytest.mark.parametrize("cut", [0, 3, 12, 50])
def test_a_rolling_mean_continues_identically_after_a_round_trip(cut: int) -> None:
    xs = series(80, seed=7)
    rolling = utils.Rolling(stats.Mean, window_size=12)
    for x in xs[:cut]:
        rolling.update(x)
    restored = through_json(rolling, utils.Rolling)

    for x in xs[cut:]:
        rolling.update(x)
        restored.update(x)
        assert restored.get() == rolling.get()


@pytest.mark.parametrize("cut", [0, 1, 7, 40])
def test_a_variance_with_reverts_continues_identically_after_a_round_trip(cut: int) -> None:
    xs = series(60, seed=cut)
    var = stats.Var()
    for x in xs[:cut]:
        var.update(x)
    restored = through_json(var, stats.Var)

    for i, x in enumerate(xs[cut:]):
        var.update(x)
        restored.update(x)
        if i % 3 == 0:  # a peer group takes members' old values back
            var.revert(x)
            restored.revert(x)
        assert restored.get() == var.get() and restored.mean.get() == var.mean.get()


def test_a_multinomial_of_text_events_round_trips_exactly() -> None:
    dist = proba.Multinomial()
    for event in ["market_regulation+taxation"] * 3 + ["court+taxation"]:
        dist.update(event)
    restored = through_json(dist, proba.Multinomial)

    assert restored("court+taxation") == dist("court+taxation") == 0.25
    restored.update("court+taxation")
    dist.update("court+taxation")
    assert encode(restored) == encode(dist)
    with pytest.raises(CodecError, match="text events"):
        encode(proba.Multinomial([1, 2]))


def test_non_finite_floats_survive_as_strings() -> None:
    mean = stats.Mean()
    mean.update(math.inf)

    data = encode(mean)

    assert json.dumps(data, allow_nan=False)  # valid JSON everywhere
    assert data["state"]["mean"] == "inf"
    assert math.isinf(decode(data, stats.Mean).get())
    assert number(math.nan) == "nan" and math.isnan(to_float("nan", "x"))


def test_objects_outside_the_allow_list_are_not_encoded() -> None:
    with pytest.raises(CodecError, match="not an allowed"):
        encode(stats.EWMean(0.1))  # a Rust object: no state to write
    with pytest.raises(CodecError, match="Rolling of stats.Mean"):
        encode(utils.Rolling(stats.Var, window_size=3))


def good_rolling() -> dict[str, Any]:
    rolling = utils.Rolling(stats.Mean, window_size=3)
    for x in (1.0, 2.0):
        rolling.update(x)
    return encode(rolling)


def good_multinomial() -> dict[str, Any]:
    return encode(proba.Multinomial(["a+b", "a+b", "c+d"]))


def good_holt_winters() -> dict[str, Any]:
    model = time_series.HoltWinters(alpha=0.5)
    for y in (1.0, 2.0, 3.0):
        model.learn_one(y)
    return encode(model)


@pytest.mark.parametrize(
    ("data", "expected", "message"),
    [
        ({**good_rolling(), "type": "pickle.loads"}, utils.Rolling, "unsupported"),
        ({**good_rolling(), "type": ["river.utils.Rolling"]}, utils.Rolling, "unsupported"),
        (good_rolling(), time_series.HoltWinters, "expected a HoltWinters"),
        ({**good_rolling(), "extra": 1}, utils.Rolling, "exactly the fields"),
        ({"type": "river.utils.Rolling", "params": {}}, utils.Rolling, "exactly the fields"),
        (
            {**good_rolling(), "params": {"window_size": True}},
            utils.Rolling,
            "window_size",
        ),
        (
            {**good_rolling(), "state": {**good_rolling()["state"], "window": [1.0] * 4}},
            utils.Rolling,
            "at most 3",
        ),
        (
            {**good_rolling(), "state": {**good_rolling()["state"], "window": ["1.0"]}},
            utils.Rolling,
            "number",
        ),
        (
            {**good_holt_winters(), "state": {**good_holt_winters()["state"], "level": [1, 2, 3]}},
            time_series.HoltWinters,
            "at most 2",
        ),
        (
            {**good_holt_winters(), "state": {**good_holt_winters()["state"], "trend": [0.1]}},
            time_series.HoltWinters,
            "null",
        ),
        (
            {**good_holt_winters(), "params": {**good_holt_winters()["params"], "gamma": 0.1}},
            time_series.HoltWinters,
            "beta must be set",
        ),
        (
            {**good_holt_winters(), "params": {**good_holt_winters()["params"], "alpha": None}},
            time_series.HoltWinters,
            "alpha",
        ),
        ("river.stats.Mean", stats.Mean, "exactly the fields"),
        (
            {**good_multinomial(), "state": {"counts": {"a+b": 2}, "n": 3}},
            proba.Multinomial,
            "sum of its counts",
        ),
        (
            {**good_multinomial(), "state": {"counts": {"a+b": -1}, "n": -1}},
            proba.Multinomial,
            "integer >= 0",
        ),
        (
            {**good_multinomial(), "state": {"counts": {"x" * 201: 1}, "n": 1}},
            proba.Multinomial,
            "at most 200",
        ),
        (
            {**encode(stats.Var()), "params": {"ddof": -1}},
            stats.Var,
            "ddof",
        ),
    ],
)
def test_anything_but_an_allowed_encoding_is_refused(
    data: Any, expected: type, message: str
) -> None:
    with pytest.raises(CodecError, match=message):
        decode(data, expected)
