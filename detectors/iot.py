"""Online anomaly detection for one IoT (device, metric) series, and hard limits.

Two separate questions are answered here, on purpose by separate code:

* :func:`limit_exceedance` / :func:`breaches_limit`: is a reading beyond its
  regulatory limit? That is a rule, not a statistic, and never "warms up".
* :class:`StreamAnomalyDetector`: is a reading unusual for *this* series?
  An online model built on River's forecasters and rolling statistics, with a
  daily profile, a drift test and a likelihood step.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from river import stats, time_series, utils

from detectors import river_codec

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
# 3: with the weekly profile; 2: the River-based detector without it; 1: the
# hand-written one. Both older versions are converted on load.
STATE_VERSION = 3
# The competing one-step predictors; the most accurate one recently is used.
PREDICTORS = ("last", "level", "season")
LAST, LEVEL, SEASON = range(3)
# The evidence that can decide a score. The first five are surprises standardised
# against their own history; "range" and "drift" are rules with evidence of their own.
FEATURES = ("point", "burst", "shift", "pattern", "week", "range", "drift")
POINT, BURST, SHIFT, PATTERN, WEEK, RANGE, DRIFT = range(7)
HISTORY_FEATURES = 5
_HISTORY_NAMES = FEATURES[:HISTORY_FEATURES]
# A surprise counts once its history rests on this many points (the pattern and
# week surprises start later, with the daily and the weekly profile).
HISTORY_MIN_POINTS = (1, 1, 1, 30, 30)
# A predictor competes only once its error estimate rests on this many points.
PREDICTOR_MIN_ERRORS = 30
# Keeps the residual spread positive on perfectly flat or perfectly periodic series.
RELATIVE_FLOOR = 1e-9
# Longest window or profile a state may hold (bounds what from_dict accepts).
MAX_WINDOW = 1_440


class LimitDirection(StrEnum):
    """Which side of a regulatory limit is a breach."""

    ABOVE = "above"  # a maximum, e.g. an emission concentration
    BELOW = "below"  # a minimum, e.g. dissolved oxygen in discharged water


def limit_exceedance(
    value: float, limit: float, direction: LimitDirection | str = LimitDirection.ABOVE
) -> float:
    """How far ``value`` is beyond ``limit`` (0.0 when compliant).

    A reading exactly at the limit is compliant: limits are stated as maxima or
    minima that may be reached.

    >>> limit_exceedance(52.0, 50.0)
    2.0
    >>> limit_exceedance(1.5, 2.0, "below")
    0.5
    >>> limit_exceedance(50.0, 50.0)
    0.0
    """
    side = LimitDirection(direction)
    excess = value - limit if side is LimitDirection.ABOVE else limit - value
    return max(excess, 0.0)


def breaches_limit(
    value: float, limit: float, direction: LimitDirection | str = LimitDirection.ABOVE
) -> bool:
    """Whether ``value`` is strictly beyond a hard regulatory ``limit``.

    >>> breaches_limit(50.1, 50.0), breaches_limit(50.0, 50.0), breaches_limit(-1.0, 0.0, "below")
    (True, False, True)
    """
    return limit_exceedance(value, limit, direction) > 0.0


@dataclass(frozen=True)
class DetectorParams:
    """Settings shared by every series (one configuration, no per-series tuning).

    Spans are in points and set exponentially weighted (EW) averages with
    ``alpha = 2 / (span + 1)``.

    Attributes
    ----------
    warmup : int
        Points seen before any non-zero score: a new device cannot alert storm.
    level_span : float
        Span of the fast level (River ``HoltWinters``, level only), the
        "recent value" predictor.
    error_span : float
        EW span of each predictor's squared error (its spread, and how the
        best predictor is chosen).
    season_bins : int
        Time-of-day slots of the daily profile predictor.
    season_alpha : float
        How fast a daily slot adapts (per visit).
    baseline_span : float
        EW span of the slow baseline (mean, variance) that level shifts and
        drift are measured against.
    score_window : int
        Points averaged by the ``burst`` and ``pattern`` surprises (River
        ``utils.Rolling`` means): a run of moderately odd points is as telling
        as one very odd point.
    history_span : float
        EW span of each surprise's own mean and variance (the likelihood step).
    history_floor : float
        Lower bound of a surprise's long-run standard deviation: on a very
        regular series a small wobble must not count as huge evidence (NAB's
        anomaly likelihood floors its variance for the same reason).
    learn_threshold : float
        Scores at or above this are flagged and not learned, so an anomaly
        does not become the baseline...
    max_skip : int
        ...unless it lasts this many points: then it is a new regime (level
        shift) and is learned, so alerts stop.
    gap_factor : float
        A time step longer than this many typical steps is a gap: the last
        value is not used as a prediction across it.
    surprise_cap : float
        Upper bound of a surprise, so one absurd value cannot dominate the
        history statistics.
    score_scale : float
        Evidence (in standard deviations of a surprise) that maps to score 0.5.
    range_tolerance : float
        A value beyond the lowest/highest value seen so far by more than this
        fraction of that range is a new extreme...
    range_evidence : float
        ...which is this much evidence on its own (14 -> score 0.78: above
        NAB's optimal threshold, below the pipeline's alert threshold, because
        a young device's noise sets new records now and then)...
    range_point_weight : float
        ...plus this share of the point surprise's evidence: a new extreme
        that is also a surprising jump is stronger than either alone.
    drift_allowance : float
        Page's CUSUM test for a slow drift away from the slow baseline: each
        point adds its distance from the baseline, in baseline standard
        deviations, minus this allowance (noise stays below it)...
    drift_threshold : float
        ...and a cumulative sum beyond this is a drift...
    drift_evidence : float
        ...with this much evidence (20 -> score 0.83). A ramp is too gradual
        for the point and shift evidence, which adapt to it, and stays inside
        the range long enough to escape "new extreme".
    drift_refractory : int
        Points after a reported drift during which further drifts are not
        reported: the slow baseline needs its EW time constant
        (``(baseline_span + 1) / 2`` points) to absorb a change, and until then
        a persisting new regime would be re-detected as drift after drift.
    refractory : int
        Points after a peak during which lower scores are damped, so one event
        raises one alert rather than a chain.
    damp : float
        Factor applied to scores inside the refractory period.
    week_bins : int
        Time-of-week slots of the weekly profile (168: hourly), each learned
        like a daily slot (``season_alpha`` per visit); 0 switches it off...
    week_days : float
        ...whose ``week`` surprise counts once this many days have been seen
        (three visits per slot): a holiday or a weekday that behaves like
        another day of the week shows against the same hour of past weeks.
    """

    warmup: int = 120
    level_span: float = 10.0
    error_span: float = 200.0
    season_bins: int = 96
    season_alpha: float = 0.25
    baseline_span: float = 1000.0
    score_window: int = 30
    history_span: float = 2000.0
    history_floor: float = 0.1
    learn_threshold: float = 0.5
    max_skip: int = 30
    gap_factor: float = 5.0
    surprise_cap: float = 20.0
    score_scale: float = 4.0
    range_tolerance: float = 0.01
    range_evidence: float = 14.0
    range_point_weight: float = 0.25
    drift_allowance: float = 2.0
    drift_threshold: float = 100.0
    drift_evidence: float = 20.0
    drift_refractory: int = 500
    refractory: int = 100
    damp: float = 0.5
    week_bins: int = 168
    week_days: float = 21.0

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.score_window < 1 or self.season_bins < 1:
            raise ValueError("warmup >= 0, score_window >= 1 and season_bins >= 1 required")
        if max(self.score_window, self.season_bins, self.week_bins) > MAX_WINDOW:
            raise ValueError(f"score_window, season_bins, week_bins must be at most {MAX_WINDOW}")
        if self.week_bins < 0 or self.week_days < 7.0:
            raise ValueError("week_bins >= 0 and week_days >= 7 required")
        if not 0.0 < self.season_alpha <= 1.0 or not 0.0 <= self.damp <= 1.0:
            raise ValueError("season_alpha must be in (0, 1] and damp in [0, 1]")
        spans = (self.level_span, self.error_span, self.baseline_span, self.history_span)
        if min(spans) < 1.0 or self.score_scale <= 0.0 or self.gap_factor <= 1.0:
            raise ValueError("spans must be >= 1, score_scale > 0 and gap_factor > 1")
        if self.history_floor <= 0.0:
            raise ValueError("history_floor must be > 0")
        if min(self.drift_refractory, self.refractory, self.max_skip) < 0:
            raise ValueError("point counts must be >= 0")


@dataclass
class DetectorState:
    """The learned numbers that are not River objects; bounded and JSON-compatible.

    Lists have fixed lengths (one entry per predictor or standardised
    surprise, ``season_bins`` daily slots), so the JSON form stays a few
    kilobytes however long the series runs. The EW statistics here follow
    River's ``stats.EWMean`` / ``stats.EWVar`` recurrences: River's own are
    Rust objects whose state cannot be read out, so they could not be saved
    without pickle (a test checks the recurrences agree).
    """

    n: int = 0
    skipped: int = 0
    last_time: float | None = None
    step: float | None = None
    days_seen: float = 0.0
    last_value: float | None = None
    errors: list[float] = field(default_factory=lambda: [0.0] * len(PREDICTORS))
    error_counts: list[int] = field(default_factory=lambda: [0] * len(PREDICTORS))
    season: list[float | None] = field(default_factory=list)
    week: list[float | None] = field(default_factory=list)  # the weekly profile's slots
    week_error: float = 0.0  # EW squared error of the weekly profile...
    week_error_n: int = 0  # ...over this many points
    baseline_mean: float = 0.0
    baseline_var: float = 0.0
    history_mean: list[float] = field(default_factory=lambda: [0.0] * HISTORY_FEATURES)
    history_var: list[float] = field(default_factory=lambda: [0.0] * HISTORY_FEATURES)
    history_n: list[int] = field(default_factory=lambda: [0] * HISTORY_FEATURES)
    peak: float = 0.0
    peak_age: int = 0
    low: float | None = None
    high: float | None = None
    drift_up: float = 0.0  # Page's CUSUM of upward, and downward, departures
    drift_down: float = 0.0
    since_drift: int = 0  # points since the last reported drift (capped)


class _Models:
    """The River objects of one detector (see the class docstring for their roles)."""

    __slots__ = ("fast", "level", "pattern", "recent", "weekly")

    def __init__(self, params: DetectorParams) -> None:
        alpha = 2.0 / (params.level_span + 1.0)
        self.level = time_series.HoltWinters(alpha=alpha)  # the "level" predictor
        self.fast = time_series.HoltWinters(alpha=alpha)  # the same, learning every point
        self.recent = utils.Rolling(stats.Mean, window_size=params.score_window)
        self.pattern = utils.Rolling(stats.Mean, window_size=params.score_window)
        self.weekly = utils.Rolling(stats.Mean, window_size=params.score_window)

    def to_dict(self) -> dict[str, Any]:
        return {name: river_codec.encode(getattr(self, name)) for name in _MODEL_TYPES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], params: DetectorParams) -> _Models:
        if not isinstance(data, Mapping) or set(data) != set(_MODEL_TYPES):
            raise ValueError(f"models must be exactly {sorted(_MODEL_TYPES)}")
        models = cls.__new__(cls)
        for name, kind in _MODEL_TYPES.items():
            setattr(models, name, river_codec.decode(data[name], kind))
        models._check(params)
        return models

    def _check(self, params: DetectorParams) -> None:
        """Restored River objects must be the ones these parameters build."""
        for name, want in _model_params(params).items():
            got = river_codec.params_of(getattr(self, name))
            if got != want:
                raise ValueError(f"models.{name} has parameters {got}, expected {want}")


@functools.lru_cache(maxsize=16)
def _model_params(params: DetectorParams) -> dict[str, dict[str, Any]]:
    """The River parameters ``params`` give each model (computed once per configuration)."""
    fresh = _Models(params)
    return {name: river_codec.params_of(getattr(fresh, name)) for name in _MODEL_TYPES}


_MODEL_TYPES: dict[str, type] = {
    "level": time_series.HoltWinters,
    "fast": time_series.HoltWinters,
    "recent": utils.Rolling,
    "pattern": utils.Rolling,
    "weekly": utils.Rolling,
}


@dataclass(frozen=True)
class Explanation:
    """Why a point scores what it scores, in the series' own units.

    ``expected`` and ``spread`` are the baseline (the chosen predictor's
    forecast and its typical error), ``deviation`` is ``(value - expected) /
    spread``, ``feature`` the evidence that decided the score (one of
    :data:`FEATURES`), ``surprises`` the standardised surprises, ``window``
    the number of recent points the burst and pattern surprises average,
    ``baseline_mean`` / ``baseline_std`` the slow baseline and ``range_low`` /
    ``range_high`` the extremes seen so far.
    """

    value: float
    score: float
    ready: bool
    predictor: str
    expected: float
    spread: float
    deviation: float
    feature: str
    surprises: dict[str, float]
    window: int
    baseline_mean: float
    baseline_std: float
    range_low: float | None
    range_high: float | None
    points_seen: int


#: The one configuration used everywhere (frozen: every new device's model shares it).
_DEFAULT_PARAMS = DetectorParams()


class _Assessment(NamedTuple):
    """What :meth:`StreamAnomalyDetector._assess` found (a tuple: one is made per point)."""

    score: float
    ready: bool
    predictor: int
    expected: float
    spread: float
    deviation: float
    surprises: tuple[float, ...]  # point, burst, shift, pattern, week (nan: no profile yet)
    feature: int
    season_residual: float | None = None  # the profile's residual, for the pattern window
    week_residual: float | None = None  # the weekly profile's, for the week window
    drift: tuple[float, float] | None = None  # the CUSUM sums after this point (None: not ready)
    drift_reported: bool = False


_NOT_READY = _Assessment(0.0, False, -1, 0.0, 0.0, 0.0, (0.0, 0.0, 0.0, math.nan, math.nan), 0)


class StreamAnomalyDetector:
    """Online anomaly detector for one (device, metric) series, built on River.

    **Predict.** Each point is compared with the best of three one-step
    predictors, the one whose recent squared error is smallest: the last
    value, a fast level (River ``time_series.HoltWinters``, simple exponential
    smoothing) and a time-of-day profile. The profile is keyed by clock time,
    so gaps and irregular sampling do not shift it; River's seasonal
    Holt-Winters counts rows instead, and scored 6.5 NAB points lower.

    **Surprises**, each capped at ``surprise_cap``:

    * ``point``: the standardised residual (spikes);
    * ``burst``: its mean over the last ``score_window`` points (River
      ``utils.Rolling`` of ``stats.Mean``: a run of odd points, e.g. a changed
      pattern or denser spikes);
    * ``shift``: a fast level (a second ``HoltWinters`` that learns every
      point) against the slow baseline (level shifts);
    * ``pattern``: the daily profile's standardised residual averaged over
      ``score_window`` points (another ``Rolling``): the day does not follow
      its usual course, even when another predictor tracks it point by point;
    * ``week``: the same against a time-of-week profile (``week_bins`` slots),
      once ``week_days`` days are seen: a weekday that runs like a Sunday (a
      holiday, a shutdown) differs from the same hour of past weeks though
      not from some day's course.

    **Likelihood step**, after NAB's "anomaly likelihood": each surprise is
    standardised against its own long-run EW mean and variance, so a series
    that is always jumpy needs bigger jumps to alert. Two rules add evidence
    of their own: a value beyond every value seen so far (``range``, NAB
    HTM's "spatial anomaly"), and a drift (``drift``): Page's CUSUM of the
    distance from the slow baseline, reported at most once per
    ``drift_refractory`` points. River's ``drift.PageHinkley`` measures the
    same sums from its own running mean instead of the baseline; that mean
    follows a slow ramp, and it missed every 10-sigma ramp of 100 points or
    more that the CUSUM catches (same NAB score). The largest evidence ``e``
    gives the score ``e / (e + score_scale)``, which is in [0, 1) and never
    saturates to exactly 1.0, so a threshold can always separate points.

    :meth:`update` scores first, then learns (prequential), skips learning
    from flagged points (unless the change persists ``max_skip`` points) and
    damps repeats within ``refractory`` points of a peak, so one event raises
    one alert. Nothing is scored before ``warmup`` points.

    State is bounded and round-trips through :meth:`to_dict` /
    :meth:`from_dict` as plain JSON (never pickle): the River objects through
    the allow-listed :mod:`detectors.river_codec`, the rest as numbers, with
    identical subsequent scores.

    Parameters
    ----------
    params : DetectorParams, optional
        Settings; the defaults are the one configuration used everywhere.
    **overrides
        Individual settings overriding ``params``.

    Examples
    --------
    >>> import random
    >>> from datetime import UTC, datetime, timedelta
    >>> rng = random.Random(42)
    >>> detector = StreamAnomalyDetector()
    >>> start = datetime(2024, 1, 1, tzinfo=UTC)
    >>> at = [start + timedelta(minutes=5 * i) for i in range(601)]
    >>> scores = [detector.update(t, 20.0 + rng.gauss(0.0, 1.0)) for t in at[:600]]
    >>> max(scores[: detector.params.warmup])  # warm-up is quiet
    0.0
    >>> max(scores) < 0.8
    True
    >>> detector.update(at[600], 40.0) > 0.8  # a 20-sigma spike
    True
    >>> restored = StreamAnomalyDetector.from_dict(detector.to_dict())
    >>> restored.update(at[600] + timedelta(minutes=5), 20.0) == detector.update(
    ...     at[600] + timedelta(minutes=5), 20.0)
    True
    """

    def __init__(self, params: DetectorParams | None = None, **overrides: Any) -> None:
        base = params or _DEFAULT_PARAMS
        p = DetectorParams(**{**asdict(base), **overrides}) if overrides else base
        state = DetectorState(
            season=[None] * p.season_bins, week=[None] * p.week_bins, since_drift=p.drift_refractory
        )
        self._set(p, state, _Models(p))

    def _set(self, params: DetectorParams, state: DetectorState, models: _Models) -> None:
        self.params, self.state, self.models = params, state, models
        self._error_alpha = 2.0 / (params.error_span + 1.0)
        self._baseline_alpha = 2.0 / (params.baseline_span + 1.0)
        self._history_alpha = 2.0 / (params.history_span + 1.0)

    # --- River-style API ---------------------------------------------------------------------

    def score_one(self, x: Mapping[str, Any]) -> float:
        """Score ``x = {"value": v, "timestamp": t}`` without learning or damping.

        ``timestamp`` is optional: a timezone-aware datetime or epoch seconds.
        """
        value, time = self._unpack(x)
        return self._assess(value, time).score

    def learn_one(self, x: Mapping[str, Any]) -> None:
        """Learn from ``x`` unconditionally (:meth:`update` skips anomalies)."""
        value, time = self._unpack(x)
        self._learn(value, time, self._assess(value, time), learn_baseline=True)

    def update(self, timestamp: datetime | float | None, value: float) -> float:
        """Score a point, then learn from it unless it was flagged; return the score."""
        time = _to_seconds(timestamp)
        value = _checked(value)
        return self._learn_unless_flagged(value, time, self._assess(value, time))

    def observe(
        self, timestamp: datetime | float | None, value: float, explain_at: float = -math.inf
    ) -> tuple[float, Explanation | None]:
        """:meth:`update`, also returning why the point scored as it did (before learning).

        The explanation is built only for a point scoring ``explain_at`` or more
        (an alert's threshold): the score returned is never above the point's
        own, so a point below it cannot alert, and most points are below it.
        """
        time = _to_seconds(timestamp)
        value = _checked(value)
        assessment = self._assess(value, time)
        explanation = (
            self._explanation(value, assessment) if assessment.score >= explain_at else None
        )
        return self._learn_unless_flagged(value, time, assessment), explanation

    def _learn_unless_flagged(
        self, value: float, time: float | None, assessment: _Assessment
    ) -> float:
        flagged = assessment.score >= self.params.learn_threshold
        # A persistent change must become the baseline, or a level shift would
        # alert forever.
        learn = not flagged or self.state.skipped >= self.params.max_skip
        self._learn(value, time, assessment, learn_baseline=learn)
        return self._damp_repeats(assessment.score)

    def explain(self, timestamp: datetime | float | None, value: float) -> Explanation:
        """Explain the score ``value`` at ``timestamp`` would get now (nothing learned)."""
        value = _checked(value)
        return self._explanation(value, self._assess(value, _to_seconds(timestamp)))

    def _explanation(self, value: float, a: _Assessment) -> Explanation:
        s = self.state
        surprises = {
            name: surprise
            for name, surprise in zip(_HISTORY_NAMES, a.surprises, strict=True)
            if not math.isnan(surprise)
        }
        return Explanation(
            value=value,
            score=a.score,
            ready=a.ready,
            predictor=PREDICTORS[a.predictor] if a.predictor >= 0 else "none",
            expected=a.expected if a.predictor >= 0 else value,
            spread=a.spread,
            deviation=a.deviation,
            feature=FEATURES[a.feature],
            surprises=surprises,
            window=self.params.score_window,
            baseline_mean=s.baseline_mean,
            baseline_std=math.sqrt(s.baseline_var),
            range_low=s.low,
            range_high=s.high,
            points_seen=s.n,
        )

    @property
    def ready(self) -> bool:
        """Whether warm-up is over (scores can be non-zero)."""
        return self.state.n >= self.params.warmup and self.state.history_n[0] >= 1

    # --- serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Parameters and state as JSON-compatible data (numbers, strings, lists, dicts, null)."""
        # Field by field rather than dataclasses.asdict, whose recursive deep copy
        # dominated a worker's time (a model is saved per device per batch).
        return {
            "version": STATE_VERSION,
            "params": _flat_dict(self.params),
            "state": _flat_dict(self.state),
            "models": self.models.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamAnomalyDetector:
        """Rebuild a detector from :meth:`to_dict` output; raises ValueError if malformed.

        State of version 1 (the hand-written detector, still in the model table
        of a deployment being upgraded) is carried over, so its devices need
        not warm up again: see :func:`_from_version_1`.
        """
        if not isinstance(data, Mapping):
            raise ValueError("detector state must be a JSON object")
        if data.get("version") == 1:
            data = _from_version_1(data)
        if data.get("version") == 2:
            data = _from_version_2(data)
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported detector state version {data.get('version')!r}")
        if set(data) != {"version", "params", "state", "models"}:
            raise ValueError("detector state needs exactly version, params, state and models")
        if not isinstance(data["params"], Mapping) or not isinstance(data["state"], Mapping):
            raise ValueError("params and state must be JSON objects")
        try:
            params = _params_from(tuple(sorted(data["params"].items())))
            state = DetectorState(**_known(DetectorState, data["state"]))
        except TypeError as exc:  # e.g. an unhashable or mistyped parameter
            raise ValueError(f"malformed detector state: {exc}") from exc
        _validate_state(state, params)
        detector = cls.__new__(cls)
        detector._set(params, state, _Models.from_dict(data["models"], params))
        return detector

    # --- scoring ----------------------------------------------------------------------------

    def _unpack(self, x: Mapping[str, Any]) -> tuple[float, float | None]:
        return _checked(float(x["value"])), _to_seconds(x.get("timestamp"))

    def _season_slot(self, time: float | None) -> int | None:
        if time is None:
            return None
        phase = (time % SECONDS_PER_DAY) / SECONDS_PER_DAY
        return min(int(phase * self.params.season_bins), self.params.season_bins - 1)

    def _week_slot(self, time: float) -> int:
        phase = (time % SECONDS_PER_WEEK) / SECONDS_PER_WEEK
        return min(int(phase * self.params.week_bins), self.params.week_bins - 1)

    def _week_prediction(self, time: float | None) -> float | None:
        """The weekly profile's value for ``time``, once ``week_days`` days are seen."""
        s, p = self.state, self.params
        if time is None or not p.week_bins or s.days_seen < p.week_days:
            return None
        return s.week[self._week_slot(time)]

    def _is_gap(self, time: float | None) -> bool:
        s = self.state
        if time is None or s.last_time is None or s.step is None:
            return False
        return time - s.last_time > self.params.gap_factor * s.step

    def _predictions(self, time: float | None) -> list[float | None]:
        s = self.state
        slot = self._season_slot(time)
        # A daily profile means nothing before a full day has been seen.
        season = s.season[slot] if slot is not None and s.days_seen >= 1.0 else None
        level = self.models.level
        return [s.last_value, level.level[-1] if level._initialized else None, season]

    def _best_predictor(self, predictions: list[float | None], gap: bool) -> int:
        s = self.state
        best = -1
        for k, prediction in enumerate(predictions):
            if prediction is None or s.error_counts[k] < PREDICTOR_MIN_ERRORS:
                continue
            if gap and k == LAST:
                continue  # the last value says little across a gap
            if best < 0 or s.errors[k] < s.errors[best]:
                best = k
        return best

    def _assess(self, value: float, time: float | None) -> _Assessment:
        """Score ``value`` against what has been learned so far (nothing changes)."""
        s, p = self.state, self.params
        predictions = self._predictions(time)
        best = self._best_predictor(predictions, self._is_gap(time))
        if best < 0:
            return _NOT_READY
        expected = predictions[best]
        assert expected is not None  # _best_predictor skips missing predictions
        floor = RELATIVE_FLOOR * (1.0 + abs(expected))
        spread = math.sqrt(s.errors[best]) + floor
        deviation = (value - expected) / spread
        season = predictions[SEASON]
        residual = None
        if season is not None and s.error_counts[SEASON] >= PREDICTOR_MIN_ERRORS:
            season_spread = math.sqrt(s.errors[SEASON]) + RELATIVE_FLOOR * (1.0 + abs(season))
            residual = min(abs(value - season) / season_spread, p.surprise_cap)
        week_residual = None
        week = self._week_prediction(time)
        if week is not None and s.week_error_n >= PREDICTOR_MIN_ERRORS:
            week_spread = math.sqrt(s.week_error) + RELATIVE_FLOOR * (1.0 + abs(week))
            week_residual = min(abs(value - week) / week_spread, p.surprise_cap)
        surprises = self._surprises(value, deviation, floor, residual, week_residual)
        ready = s.n >= p.warmup and s.history_n[0] >= 1
        if not ready:
            return _Assessment(
                0.0, False, best, expected, spread, deviation, surprises, 0, residual, week_residual
            )
        evidence, feature, point = self._evidence(surprises)
        novelty = self._range_novelty(value, point)
        if novelty > evidence:
            evidence, feature = novelty, RANGE
        drift = self._drift_sums(value, floor)
        reported = False
        if max(drift) > p.drift_threshold:
            drift = (0.0, 0.0)  # watched afresh
            reported = s.since_drift >= p.drift_refractory
            if reported and p.drift_evidence > evidence:
                evidence, feature = p.drift_evidence, DRIFT
        score = evidence / (evidence + p.score_scale)
        return _Assessment(
            score,
            True,
            best,
            expected,
            spread,
            deviation,
            surprises,
            feature,
            residual,
            week_residual,
            drift,
            reported,
        )

    def _drift_sums(self, value: float, floor: float) -> tuple[float, float]:
        s, p = self.state, self.params
        z = (value - s.baseline_mean) / (math.sqrt(s.baseline_var) + floor)
        up = max(0.0, s.drift_up + z - p.drift_allowance)
        down = max(0.0, s.drift_down - z - p.drift_allowance)
        return up, down

    def _surprises(
        self,
        value: float,
        deviation: float,
        floor: float,
        residual: float | None,
        week_residual: float | None,
    ) -> tuple[float, float, float, float, float]:
        """The point, burst, shift, pattern and week surprises (see the class docstring)."""
        s, p, m = self.state, self.params, self.models
        point = min(abs(deviation), p.surprise_cap)
        burst = _rolling_mean_with(m.recent, point)
        fast = m.fast
        level = (
            fast.level[-1] + fast.alpha * (value - fast.level[-1]) if fast._initialized else value
        )
        shift = min(
            abs(level - s.baseline_mean) / (math.sqrt(s.baseline_var) + floor), p.surprise_cap
        )
        pattern = _rolling_mean_with(m.pattern, residual) if residual is not None else math.nan
        week = math.nan if week_residual is None else _rolling_mean_with(m.weekly, week_residual)
        return point, burst, shift, pattern, week

    def _evidence(self, surprises: tuple[float, ...]) -> tuple[float, int, float]:
        """Largest surprise in units of its own long-run standard deviation, which
        one it was, and the point surprise's own evidence."""
        s, floor = self.state, self.params.history_floor
        best, feature, point = 0.0, 0, 0.0
        for k, surprise in enumerate(surprises):
            if math.isnan(surprise) or s.history_n[k] < HISTORY_MIN_POINTS[k]:
                continue
            z = (surprise - s.history_mean[k]) / max(math.sqrt(s.history_var[k]), floor)
            if k == POINT:
                point = max(z, 0.0)
            if z > best:
                best, feature = z, k
        return best, feature, point

    def _range_novelty(self, value: float, point_evidence: float) -> float:
        """Evidence for a value beyond everything seen so far (NAB HTM's "spatial
        anomaly"): ``range_evidence`` on its own, more if the value is also a
        surprising jump; 0.0 inside the range widened by the tolerance."""
        s, p = self.state, self.params
        if s.low is None or s.high is None or s.high <= s.low:
            return 0.0
        excess = max(value - s.high, s.low - value) / (s.high - s.low)
        if excess <= p.range_tolerance:
            return 0.0
        return p.range_evidence + p.range_point_weight * point_evidence

    def _damp_repeats(self, score: float) -> float:
        s, p = self.state, self.params
        if s.peak_age > p.refractory:
            s.peak = 0.0
        if score > s.peak:
            s.peak, s.peak_age = score, 0
            return score
        s.peak_age += 1
        return score * p.damp

    # --- learning ---------------------------------------------------------------------------

    def _learn(
        self, value: float, time: float | None, assessment: _Assessment, learn_baseline: bool
    ) -> None:
        s, m = self.state, self.models
        s.n += 1
        self._learn_time(time)
        s.low = value if s.low is None else min(s.low, value)
        s.high = value if s.high is None else max(s.high, value)
        # The fast level, the windows and the surprises' own statistics follow
        # every point, flagged or not: they are how a persisting change shows,
        # and a likelihood that ignored its large surprises would shrink until
        # everything looked surprising.
        m.fast.learn_one(value)
        if assessment.drift is not None:
            s.drift_up, s.drift_down = assessment.drift
            s.since_drift = 0 if assessment.drift_reported else s.since_drift + 1
            s.since_drift = min(s.since_drift, self.params.drift_refractory)
        if assessment.predictor >= 0:
            m.recent.update(assessment.surprises[POINT])
            if assessment.season_residual is not None:
                m.pattern.update(assessment.season_residual)
            if assessment.week_residual is not None:
                m.weekly.update(assessment.week_residual)
            self._learn_surprises(assessment.surprises)
        if not learn_baseline:
            s.skipped += 1
            return
        s.skipped = 0
        self._learn_predictors(value, time)
        self._learn_baseline(value)

    def _learn_time(self, time: float | None) -> None:
        s = self.state
        if time is None:
            return
        if s.last_time is not None:
            dt = time - s.last_time
            # Out-of-order points (dt <= 0) say nothing about the sampling step.
            if dt > 0 and not self._is_gap(time):
                s.step = dt if s.step is None else s.step + 0.05 * (dt - s.step)
            s.days_seen += max(dt, 0.0) / SECONDS_PER_DAY
        s.last_time = time if s.last_time is None else max(s.last_time, time)

    def _learn_surprises(self, surprises: tuple[float, ...]) -> None:
        s = self.state
        for k, surprise in enumerate(surprises):
            if math.isnan(surprise):
                continue
            s.history_n[k] += 1
            alpha = max(self._history_alpha, 1.0 / s.history_n[k])
            s.history_mean[k], s.history_var[k] = _ew_update(
                s.history_mean[k], s.history_var[k], surprise, alpha, s.history_n[k] == 1
            )

    def _learn_predictors(self, value: float, time: float | None) -> None:
        s, p = self.state, self.params
        for k, prediction in enumerate(self._predictions(time)):
            if prediction is None:
                continue
            error = (value - prediction) ** 2
            if s.error_counts[k] == 0:
                s.errors[k] = error
            else:
                s.errors[k] += self._error_alpha * (error - s.errors[k])
            s.error_counts[k] += 1
        s.last_value = value
        self.models.level.learn_one(value)
        slot = self._season_slot(time)
        if slot is not None:
            s.season[slot] = _ew_mean(s.season[slot], value, p.season_alpha)
        if time is not None and p.week_bins:
            w = self._week_slot(time)
            week = s.week[w]
            if week is not None and s.days_seen >= p.week_days:
                error = (value - week) ** 2
                alpha = self._error_alpha if s.week_error_n else 1.0
                s.week_error += alpha * (error - s.week_error)
                s.week_error_n += 1
            s.week[w] = _ew_mean(week, value, p.season_alpha)

    def _learn_baseline(self, value: float) -> None:
        s = self.state
        # Plain averaging until the EW window fills, so early points are not overweighted.
        alpha = max(self._baseline_alpha, 1.0 / s.n)
        s.baseline_mean, s.baseline_var = _ew_update(
            s.baseline_mean, s.baseline_var, value, alpha, s.n == 1
        )


#: Version-1 state fields whose meaning is unchanged.
_V1_SAME = (
    "n",
    "skipped",
    "last_time",
    "step",
    "days_seen",
    "last_value",
    "errors",
    "error_counts",
    "season",
    "baseline_mean",
    "baseline_var",
    "peak",
    "peak_age",
    "low",
    "high",
    "drift_up",
    "drift_down",
)


def _from_version_1(data: Mapping[str, Any]) -> dict[str, Any]:
    """Version-1 data (the hand-written detector) as version 2, with the current
    default parameters (every device shares one configuration, and version 1's
    ``range_evidence`` meant something else).

    What both versions learn is carried over: the predictors' errors, the
    daily profile, the baseline, the range, the drift sums, the statistics of
    the point, burst and shift surprises. The two EW levels become River
    ``HoltWinters`` levels and the recent point surprises the burst window.
    Only the pattern surprise (new) starts empty.
    """
    old = data.get("state")
    if not isinstance(old, Mapping):
        raise ValueError("version-1 state must be a JSON object")
    params = DetectorParams()
    missing = {*_V1_SAME, "level", "fast_level", "recent", "history_mean", "history_var"} - set(old)
    if missing:
        raise ValueError(f"version-1 state lacks {sorted(missing)}")
    state = {name: old[name] for name in _V1_SAME}
    history_n = old.get("history_n", 0)
    if isinstance(history_n, bool) or not isinstance(history_n, int) or history_n < 0:
        raise ValueError("version-1 state.history_n must be an integer >= 0")
    for name in ("history_mean", "history_var", "recent"):
        if not isinstance(old[name], list):
            raise ValueError(f"version-1 state.{name} must be a list")
    state["history_mean"] = [*old["history_mean"], 0.0, 0.0]
    state["history_var"] = [*old["history_var"], 0.0, 0.0]
    state["history_n"] = [history_n] * (HISTORY_FEATURES - 2) + [0, 0]
    state["week"] = [None] * params.week_bins
    state["since_drift"] = params.drift_refractory
    models = _Models(params)
    for model, level in ((models.level, old["level"]), (models.fast, old["fast_level"])):
        if level is not None:
            model.level.append(river_codec.to_float(level, "version-1 level"))
            model._initialized = True
    for surprise in old["recent"][-params.score_window :]:
        models.recent.update(river_codec.to_float(surprise, "version-1 state.recent"))
    return {
        "version": STATE_VERSION,
        "params": _flat_dict(params),
        "state": state,
        "models": models.to_dict(),
    }


def _from_version_2(data: Mapping[str, Any]) -> dict[str, Any]:
    """Version-2 data (without the weekly profile) as version 3: everything carried
    over; the weekly profile starts empty and fills as the week's hours come round
    (an empty slot predicts nothing), and its surprise counts once its error and
    history rest on 30 points each."""
    old_state, old_models = data.get("state"), data.get("models")
    if not isinstance(old_state, Mapping) or not isinstance(old_models, Mapping):
        raise ValueError("version-2 state and models must be JSON objects")
    params = data.get("params")
    if not isinstance(params, Mapping):
        raise ValueError("version-2 params must be a JSON object")
    week_bins = DetectorParams().week_bins
    state = dict(old_state)
    for name, empty in (("history_mean", 0.0), ("history_var", 0.0), ("history_n", 0)):
        if not isinstance(state.get(name), list):
            raise ValueError(f"version-2 state.{name} must be a list")
        state[name] = [*state[name], empty]
    state["week"] = [None] * week_bins
    fresh = _Models(DetectorParams(score_window=params.get("score_window", 30)))
    return {
        "version": STATE_VERSION,
        "params": {**params, "week_bins": week_bins},
        "state": state,
        "models": {**old_models, "weekly": river_codec.encode(fresh.weekly)},
    }


def _rolling_mean_with(window: utils.Rolling, x: float) -> float:
    """The mean of a River rolling window after ``x`` would enter it (nothing changes)."""
    values = window.window
    total = window.obj.get() * len(values)
    if len(values) == window.window_size:
        return (total - values[0][0][0] + x) / len(values)
    return (total + x) / (len(values) + 1)


def _ew_mean(mean: float | None, x: float, alpha: float) -> float:
    """One EW mean step; the first value starts the mean."""
    return x if mean is None else mean + alpha * (x - mean)


def _ew_update(mean: float, var: float, x: float, alpha: float, first: bool) -> tuple[float, float]:
    """One step of EW mean and variance (the recurrence of River's ``EWVar``)."""
    if first:
        return x, 0.0
    delta = x - mean
    return mean + alpha * delta, (1.0 - alpha) * (var + alpha * delta * delta)


def _to_seconds(timestamp: datetime | float | None) -> float | None:
    if timestamp is None:
        return None
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return timestamp.timestamp()
    return _checked(float(timestamp))


def _checked(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    return float(value)


@functools.lru_cache(maxsize=16)
def _params_from(items: tuple[tuple[str, Any], ...]) -> DetectorParams:
    """Parsed once: every device of a deployment shares one configuration."""
    return DetectorParams(**_known(DetectorParams, dict(items)))


def _flat_dict(instance: Any) -> dict[str, Any]:
    """A dataclass of numbers and lists of numbers as JSON data; lists are copied
    and non-finite floats written as strings (see :func:`river_codec.number`)."""
    out: dict[str, Any] = {}
    for f in fields(instance):
        value = getattr(instance, f.name)
        if isinstance(value, list):
            value = [river_codec.number(x) if type(x) is float else x for x in value]
        elif type(value) is float and not math.isfinite(value):
            value = river_codec.number(value)
        out[f.name] = value
    return out


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return dict(data)


def _validate_state(state: DetectorState, params: DetectorParams) -> None:
    """Reject restored state that would break the bounds or types the detector relies on."""
    sizes = {
        "errors": (state.errors, len(PREDICTORS)),
        "error_counts": (state.error_counts, len(PREDICTORS)),
        "history_mean": (state.history_mean, HISTORY_FEATURES),
        "history_var": (state.history_var, HISTORY_FEATURES),
        "history_n": (state.history_n, HISTORY_FEATURES),
        "season": (state.season, params.season_bins),
        "week": (state.week, params.week_bins),
    }
    for name, (values, expected) in sizes.items():
        if not isinstance(values, list) or len(values) != expected:
            raise ValueError(f"state.{name} must be a list of {expected} entries")
    counts = ("n", "skipped", "peak_age", "since_drift", "week_error_n")
    for name in counts:
        value = getattr(state, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"state.{name} must be an integer >= 0")
    for name in ("error_counts", "history_n"):
        if any(
            isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in getattr(state, name)
        ):
            raise ValueError(f"state.{name} must hold integers >= 0")
    for name in ("errors", "history_mean", "history_var"):
        setattr(
            state, name, [river_codec.to_float(x, f"state.{name}") for x in getattr(state, name)]
        )
    state.season = [
        None if x is None else river_codec.to_float(x, "state.season") for x in state.season
    ]
    state.week = [None if x is None else river_codec.to_float(x, "state.week") for x in state.week]
    for name in (
        "days_seen",
        "baseline_mean",
        "baseline_var",
        "peak",
        "drift_up",
        "drift_down",
        "week_error",
    ):
        setattr(state, name, river_codec.to_float(getattr(state, name), f"state.{name}"))
    for name in ("last_time", "step", "last_value", "low", "high"):
        value = getattr(state, name)
        if value is not None:
            setattr(state, name, river_codec.to_float(value, f"state.{name}"))
