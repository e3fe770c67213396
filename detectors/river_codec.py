"""JSON for the River objects the detectors keep: allow-listed, exact, never pickle.

River's estimators pickle, and unpickling runs whatever code the bytes name,
so a model table that anyone can write to would be a way into every worker.
This codec accepts only the classes in :data:`CODECS`. Each is written as
``{"type": name, "params": {...}, "state": {...}}``: its constructor
parameters and, by name, the attributes it learns. Decoding calls the
constructor with checked parameters and sets the checked attributes back, so
the data can neither choose a class nor run code, and a decoded object
continues exactly where the encoded one stopped (same floats, same arithmetic).

JSON has no infinities and orjson writes them as ``null``; a forecaster fed
huge values can overflow to one. Non-finite floats are therefore written as
the strings ``"inf"``, ``"-inf"`` and ``"nan"``.

Only what the detectors use is allowed: :class:`~river.time_series.HoltWinters`
(with or without trend and season), :class:`~river.stats.Mean`,
:class:`~river.utils.Rolling` around a ``Mean`` (the IoT model),
:class:`~river.stats.Var` (peer groups) and :class:`~river.proba.Multinomial`
over short text events (the departments of cross-sector findings). River's Rust-backed
statistics (``stats.EWMean``, ``stats.EWVar``, ``drift.ADWIN``, quantiles)
expose no state to write, so they cannot be saved this way.

>>> from river import time_series
>>> model = time_series.HoltWinters(alpha=0.3)
>>> for y in [1.0, 2.0, 4.0]:
...     model.learn_one(y)
>>> restored = decode(encode(model), time_series.HoltWinters)
>>> restored.learn_one(3.0); model.learn_one(3.0)
>>> restored.forecast(1) == model.forecast(1)
True
>>> decode({"type": "os.system", "params": {}, "state": {}}, time_series.HoltWinters)
Traceback (most recent call last):
...
detectors.river_codec.CodecError: unsupported River object type 'os.system'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from river import proba, stats, time_series, utils

T = TypeVar("T")
Data = dict[str, Any]

_SPECIAL = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
#: Longest list the codec accepts (a daily season of one-minute data fits).
MAX_LIST = 1_441
#: Most events a Multinomial may hold, and the longest event name.
MAX_EVENTS = 1_024
MAX_EVENT_CHARS = 200


class CodecError(ValueError):
    """The data is not an encoding of an allowed River object."""


def number(x: float) -> float | str:
    """``x`` as JSON: itself when finite, else ``"inf"``, ``"-inf"`` or ``"nan"``.

    >>> number(1.5), number(float("-inf"))
    (1.5, '-inf')
    """
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def to_float(value: Any, name: str) -> float:
    """The float that :func:`number` wrote; raises :class:`CodecError` otherwise.

    >>> to_float("inf", "x"), to_float(2, "x")
    (inf, 2.0)
    """
    if type(value) is float:  # the common case, checked first: models hold many
        return value
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(f"{name} must be a number, got {value!r}")
    return float(value)


def _int(value: Any, name: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CodecError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise CodecError(f"{name} must be true or false, got {value!r}")
    return value


def _floats(value: Any, name: str, most: int) -> list[float]:
    if not isinstance(value, list) or len(value) > most:
        raise CodecError(f"{name} must be a list of at most {most} numbers")
    return [to_float(x, name) for x in value]


def _fields(data: Any, name: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or set(data) != keys:
        found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise CodecError(f"{name} must have exactly the fields {sorted(keys)}, got {found}")
    return data


# --- the allowed classes -------------------------------------------------------------------


def _encode_mean(mean: stats.Mean) -> Data:
    return {"n": number(mean.n), "mean": number(mean._mean)}


def _decode_mean(params: Mapping[str, Any], state: Mapping[str, Any]) -> stats.Mean:
    _fields(params, "Mean params", set())
    state = _fields(state, "Mean state", {"n", "mean"})
    mean = stats.Mean()
    mean.n = to_float(state["n"], "Mean.n")
    mean._mean = to_float(state["mean"], "Mean.mean")
    if mean.n < 0:
        raise CodecError("Mean.n must be >= 0")
    return mean


def _mean_params(_: stats.Mean) -> Data:
    return {}


def _rolling_params(rolling: utils.Rolling) -> Data:
    return {"window_size": rolling.window_size}


def _encode_rolling(rolling: utils.Rolling) -> Data:
    if not isinstance(rolling.obj, stats.Mean):
        raise CodecError("only a Rolling of stats.Mean is supported")
    window = []
    for args, kwargs in rolling.window:
        if len(args) != 1 or kwargs:
            raise CodecError("only a Rolling updated with one value at a time is supported")
        window.append(number(args[0]))
    return {"mean": _encode_mean(rolling.obj), "window": window}


def _decode_rolling(params: Mapping[str, Any], state: Mapping[str, Any]) -> utils.Rolling:
    params = _fields(params, "Rolling params", {"window_size"})
    state = _fields(state, "Rolling state", {"mean", "window"})
    size = _int(params["window_size"], "Rolling.window_size", low=1)
    if size > MAX_LIST:
        raise CodecError(f"Rolling.window_size must be at most {MAX_LIST}")
    rolling = utils.Rolling(stats.Mean, window_size=size)
    rolling.obj = _decode_mean({}, state["mean"])
    rolling.window.extend(((x,), {}) for x in _floats(state["window"], "Rolling.window", size))
    return rolling


def _holt_winters_params(model: time_series.HoltWinters) -> Data:
    return {
        "alpha": number(model.alpha),
        "beta": None if model.beta is None else number(model.beta),
        "gamma": None if model.gamma is None else number(model.gamma),
        "seasonality": model.seasonality,
        "multiplicative": model.multiplicative,
    }


def _encode_holt_winters(model: time_series.HoltWinters) -> Data:
    return {
        "level": [number(x) for x in model.level],
        "trend": None if model.trend is None else [number(x) for x in model.trend],
        "season": None if model.season is None else [number(x) for x in model.season],
        "first_values": [number(x) for x in model._first_values],
        "initialized": model._initialized,
    }


def _optional_float(value: Any, name: str) -> float | None:
    return None if value is None else to_float(value, name)


def _decode_holt_winters(
    params: Mapping[str, Any], state: Mapping[str, Any]
) -> time_series.HoltWinters:
    params = _fields(
        params, "HoltWinters params", {"alpha", "beta", "gamma", "seasonality", "multiplicative"}
    )
    state = _fields(
        state, "HoltWinters state", {"level", "trend", "season", "first_values", "initialized"}
    )
    seasonality = _int(params["seasonality"], "HoltWinters.seasonality")
    if seasonality > MAX_LIST - 1:
        raise CodecError(f"HoltWinters.seasonality must be at most {MAX_LIST - 1}")
    try:
        model = time_series.HoltWinters(
            alpha=to_float(params["alpha"], "HoltWinters.alpha"),
            beta=_optional_float(params["beta"], "HoltWinters.beta"),
            gamma=_optional_float(params["gamma"], "HoltWinters.gamma"),
            seasonality=seasonality,
            multiplicative=_bool(params["multiplicative"], "HoltWinters.multiplicative"),
        )
    except ValueError as exc:  # River's own parameter checks
        raise CodecError(f"HoltWinters parameters: {exc}") from exc
    components: tuple[tuple[str, Any], ...] = (
        ("level", model.level),
        ("trend", model.trend),
        ("season", model.season),
    )
    for name, component in components:
        values = state[name]
        if component is None:
            if values is not None:
                raise CodecError(f"HoltWinters.{name} must be null for these parameters")
            continue
        assert component.maxlen is not None  # River's components are bounded deques
        component.extend(_floats(values, f"HoltWinters.{name}", component.maxlen))
    model._first_values = _floats(
        state["first_values"], "HoltWinters.first_values", max(2, seasonality)
    )
    model._initialized = _bool(state["initialized"], "HoltWinters.initialized")
    if model._initialized and not model.level:
        raise CodecError("an initialised HoltWinters needs a level")
    return model


def _var_params(var: stats.Var) -> Data:
    return {"ddof": var.ddof}


def _encode_var(var: stats.Var) -> Data:
    return {"mean": _encode_mean(var.mean), "S": number(var._S)}


def _decode_var(params: Mapping[str, Any], state: Mapping[str, Any]) -> stats.Var:
    params = _fields(params, "Var params", {"ddof"})
    state = _fields(state, "Var state", {"mean", "S"})
    var = stats.Var(ddof=_int(params["ddof"], "Var.ddof"))
    var.mean = _decode_mean({}, state["mean"])
    var._S = to_float(state["S"], "Var.S")
    return var


def _multinomial_params(_: proba.Multinomial) -> Data:
    return {}


def _encode_multinomial(dist: proba.Multinomial) -> Data:
    if not all(isinstance(event, str) for event in dist.counts):
        raise CodecError("only a Multinomial of text events is supported")
    return {"counts": dict(dist.counts), "n": dist.n_samples}


def _decode_multinomial(params: Mapping[str, Any], state: Mapping[str, Any]) -> proba.Multinomial:
    _fields(params, "Multinomial params", set())
    state = _fields(state, "Multinomial state", {"counts", "n"})
    counts = state["counts"]
    if not isinstance(counts, Mapping) or len(counts) > MAX_EVENTS:
        raise CodecError(f"Multinomial.counts must map at most {MAX_EVENTS} events to counts")
    checked: dict[str, int] = {}
    for event, count in counts.items():
        if not isinstance(event, str) or len(event) > MAX_EVENT_CHARS:
            raise CodecError(f"Multinomial events are text of at most {MAX_EVENT_CHARS} characters")
        checked[event] = _int(count, f"Multinomial.counts[{event!r}]")
    n = _int(state["n"], "Multinomial.n")
    if n != sum(checked.values()):
        raise CodecError("Multinomial.n must be the sum of its counts")
    dist = proba.Multinomial()
    dist.counts.update(checked)
    dist._n = n
    return dist


@dataclass(frozen=True)
class _Codec:
    cls: type
    params: Callable[[Any], Data]
    state: Callable[[Any], Data]
    decode: Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


#: The allow-list: type name in the data -> how to write and rebuild it.
CODECS: dict[str, _Codec] = {
    "river.stats.Mean": _Codec(stats.Mean, _mean_params, _encode_mean, _decode_mean),
    "river.utils.Rolling": _Codec(utils.Rolling, _rolling_params, _encode_rolling, _decode_rolling),
    "river.stats.Var": _Codec(stats.Var, _var_params, _encode_var, _decode_var),
    "river.proba.Multinomial": _Codec(
        proba.Multinomial, _multinomial_params, _encode_multinomial, _decode_multinomial
    ),
    "river.time_series.HoltWinters": _Codec(
        time_series.HoltWinters, _holt_winters_params, _encode_holt_winters, _decode_holt_winters
    ),
}
_NAMES = {codec.cls: name for name, codec in CODECS.items()}


def _name_of(obj: Any) -> str:
    name = _NAMES.get(type(obj))
    if name is None:
        raise CodecError(f"cannot encode {type(obj).__qualname__}: not an allowed River object")
    return name


def encode(obj: Any) -> Data:
    """``obj`` (an allowed River object) as JSON-compatible data."""
    name = _name_of(obj)
    codec = CODECS[name]
    return {"type": name, "params": codec.params(obj), "state": codec.state(obj)}


def params_of(obj: Any) -> Data:
    """The ``params`` part of :func:`encode` alone (to compare configurations)."""
    return CODECS[_name_of(obj)].params(obj)


def decode(data: Any, expected: type[T]) -> T:
    """Rebuild an object of class ``expected`` from :func:`encode` output.

    Raises :class:`CodecError` (a ``ValueError``) for anything else: an
    unknown or unexpected type, missing or extra fields, wrong value types or
    lists longer than the object allows.
    """
    data = _fields(data, "a River object", {"type", "params", "state"})
    codec = CODECS.get(data["type"]) if isinstance(data["type"], str) else None
    if codec is None:
        raise CodecError(f"unsupported River object type {data['type']!r}")
    if codec.cls is not expected:
        raise CodecError(f"expected a {expected.__qualname__}, got {data['type']!r}")
    obj = codec.decode(data["params"], data["state"])
    assert isinstance(obj, expected)
    return obj
