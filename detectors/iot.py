"""Online anomaly detection for one IoT (device, metric) series, and hard limits.

Two separate questions are answered here, on purpose by separate code:

* :func:`limit_exceedance` / :func:`breaches_limit`: is a reading beyond its
  regulatory limit? That is a rule, not a statistic, and never "warms up".
* :class:`StreamAnomalyDetector`: is a reading unusual for *this* series?
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

SECONDS_PER_DAY = 86_400.0
STATE_VERSION = 1
# The competing one-step predictors; the most accurate one recently is used.
PREDICTORS = ("last", "level", "season")
# The surprise measures, each judged against its own long-run distribution.
FEATURES = ("point", "burst", "shift", "range", "drift")
# The first three are standardised against their history; "range" and "drift" are absolute.
HISTORY_FEATURES = 3
# A predictor competes only once its error estimate rests on this many points.
PREDICTOR_MIN_ERRORS = 30
# Keeps the residual spread positive on perfectly flat or perfectly periodic series.
RELATIVE_FLOOR = 1e-9


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
        EW span of the fast level, the "recent value" predictor.
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
        Points averaged by the ``burst`` feature: a run of moderately odd
        points is as telling as one very odd point.
    history_span : float
        EW span of each feature's own mean and variance (the likelihood step).
    history_floor : float
        Lower bound of a feature's long-run standard deviation: on a very
        regular series a small wobble must not count as huge evidence (NAB's
        anomaly likelihood floors its variance for the same reason).
    learn_threshold : float
        Scores at or above this are not learned, so an anomaly does not become
        the baseline...
    max_skip : int
        ...unless it lasts this many points: then it is a new regime (level
        shift) and is learned, so alerts stop.
    gap_factor : float
        A time step longer than this many typical steps is a gap: the last
        value is not used as a prediction across it.
    surprise_cap : float
        Upper bound of a feature's standardised surprise, so one absurd value
        cannot dominate the history statistics.
    score_scale : float
        Evidence (in feature standard deviations) that maps to score 0.5.
    range_tolerance : float
        A value beyond the lowest/highest value seen so far by more than this
        fraction of that range is a new extreme...
    range_evidence : float
        ...with at least this much evidence (12 -> score 0.75).
    drift_allowance : float
        Page's CUSUM test for a slow drift away from the slow baseline: each
        point adds its distance from the baseline, in baseline standard
        deviations, minus this allowance (noise stays below it)...
    drift_threshold : float
        ...and a cumulative sum beyond this is a drift...
    drift_evidence : float
        ...with this much evidence (20 -> score 0.83); the sums then restart.
        A ramp is too gradual for the point and shift evidence, which adapt
        to it, and stays inside the range long enough to escape "new extreme".
    refractory : int
        Points after a peak during which lower scores are damped, so one event
        raises one alert rather than a chain.
    damp : float
        Factor applied to scores inside the refractory period.
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
    range_evidence: float = 12.0
    drift_allowance: float = 2.0
    drift_threshold: float = 100.0
    drift_evidence: float = 20.0
    refractory: int = 100
    damp: float = 0.5

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.score_window < 1 or self.season_bins < 1:
            raise ValueError("warmup >= 0, score_window >= 1 and season_bins >= 1 required")
        if not 0.0 < self.season_alpha <= 1.0 or not 0.0 <= self.damp <= 1.0:
            raise ValueError("season_alpha must be in (0, 1] and damp in [0, 1]")
        spans = (self.level_span, self.error_span, self.baseline_span, self.history_span)
        if min(spans) < 1.0 or self.score_scale <= 0.0 or self.gap_factor <= 1.0:
            raise ValueError("spans must be >= 1, score_scale > 0 and gap_factor > 1")
        if self.history_floor <= 0.0:
            raise ValueError("history_floor must be > 0")


@dataclass
class DetectorState:
    """Everything a detector has learned; bounded and JSON-compatible.

    Lists have fixed lengths (one entry per predictor or standardised
    feature, ``season_bins`` daily slots, at most ``score_window`` recent
    point surprises), so the JSON form stays a few kilobytes however long the
    series runs.
    """

    n: int = 0
    skipped: int = 0
    last_time: float | None = None
    step: float | None = None
    days_seen: float = 0.0
    last_value: float | None = None
    level: float | None = None
    fast_level: float | None = None
    errors: list[float] = field(default_factory=lambda: [0.0] * len(PREDICTORS))
    error_counts: list[int] = field(default_factory=lambda: [0] * len(PREDICTORS))
    season: list[float | None] = field(default_factory=list)
    baseline_mean: float = 0.0
    baseline_var: float = 0.0
    recent: list[float] = field(default_factory=list)
    history_mean: list[float] = field(default_factory=lambda: [0.0] * HISTORY_FEATURES)
    history_var: list[float] = field(default_factory=lambda: [0.0] * HISTORY_FEATURES)
    history_n: int = 0
    peak: float = 0.0
    peak_age: int = 0
    low: float | None = None
    high: float | None = None
    drift_up: float = 0.0  # Page's CUSUM of upward, and downward, departures
    drift_down: float = 0.0


@dataclass(frozen=True)
class Explanation:
    """Why a point scores what it scores, in the series' own units.

    ``expected`` and ``spread`` are the baseline (the chosen predictor's
    forecast and its typical error), ``deviation`` is ``(value - expected) /
    spread``, ``feature`` the evidence that decided the score, ``window`` the
    number of recent points the burst feature averages, ``baseline_mean`` /
    ``baseline_std`` the slow baseline and ``range_low`` / ``range_high`` the
    extremes seen so far.
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


@dataclass(frozen=True)
class _Assessment:
    score: float
    ready: bool
    predictor: int
    expected: float
    spread: float
    deviation: float
    surprises: tuple[float, float, float]
    feature: int
    drift: tuple[float, float] = (0.0, 0.0)  # the CUSUM sums after this point


class StreamAnomalyDetector:
    """Online anomaly detector for one (device, metric) series.

    Each point is compared with the best of three one-step predictors (the
    last value, a fast EW level, a time-of-day profile), the one whose recent
    squared error is smallest. Three surprises follow:

    * ``point``: the standardised residual (spikes);
    * ``burst``: its mean over the last ``score_window`` points (a run of
      odd points, e.g. a changed pattern or spike density);
    * ``shift``: the fast level against the slow baseline (level shifts, drift).

    Then a likelihood step, after NAB's "anomaly likelihood": each surprise is
    standardised against its own long-run EW mean and variance, so a series
    that is always jumpy needs bigger jumps to alert. A value beyond every
    value seen so far (``range``, NAB HTM's "spatial anomaly") is strong
    evidence on its own. The largest evidence ``e`` gives the score
    ``e / (e + score_scale)``, which is in [0, 1) and never saturates to
    exactly 1.0, so a threshold can always separate points.

    :meth:`update` scores first, then learns (prequential), skips learning
    from flagged points (unless the change persists ``max_skip`` points) and
    damps repeats within ``refractory`` points of a peak, so one event raises
    one alert.

    Timestamps drive the daily profile and gap handling, so irregular
    sampling and gaps are fine; without timestamps the profile is unused.
    Nothing is scored before ``warmup`` points.

    State (:class:`DetectorState`) is bounded and round-trips through
    :meth:`to_dict` / :meth:`from_dict` as plain JSON (never pickle) with
    identical subsequent scores. River's EW statistics are Rust objects and
    its drift detectors carry internal buckets, neither with an exact JSON
    round trip, so the few EW statistics needed are implemented here in plain
    Python with the same recurrences as River's ``stats.EWMean`` /
    ``stats.EWVar`` (a test checks they agree).

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
        base = params or DetectorParams()
        self.params = DetectorParams(**{**asdict(base), **overrides}) if overrides else base
        self.state = DetectorState(season=[None] * self.params.season_bins)
        p = self.params
        self._level_alpha = 2.0 / (p.level_span + 1.0)
        self._error_alpha = 2.0 / (p.error_span + 1.0)
        self._baseline_alpha = 2.0 / (p.baseline_span + 1.0)
        self._history_alpha = 2.0 / (p.history_span + 1.0)

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
        self, timestamp: datetime | float | None, value: float
    ) -> tuple[float, Explanation]:
        """:meth:`update`, also returning why the point scored as it did (before learning)."""
        time = _to_seconds(timestamp)
        value = _checked(value)
        assessment = self._assess(value, time)
        explanation = self._explanation(value, assessment)
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
        return Explanation(
            value=value,
            score=a.score,
            ready=a.ready,
            predictor=PREDICTORS[a.predictor] if a.predictor >= 0 else "none",
            expected=a.expected,
            spread=a.spread,
            deviation=a.deviation,
            feature=FEATURES[a.feature],
            surprises=dict(zip(FEATURES[:HISTORY_FEATURES], a.surprises, strict=True)),
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
        return self.state.n >= self.params.warmup and self.state.history_n >= 1

    # --- serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Parameters and state as JSON-compatible data (numbers, lists, dicts, null)."""
        # Field by field rather than dataclasses.asdict, whose recursive deep copy
        # dominated a worker's time (a model is saved per device per batch).
        return {
            "version": STATE_VERSION,
            "params": _flat_dict(self.params),
            "state": _flat_dict(self.state),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamAnomalyDetector:
        """Rebuild a detector from :meth:`to_dict` output; raises ValueError if malformed."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported detector state version {data.get('version')!r}")
        detector = cls(_params_from(tuple(sorted(data["params"].items()))))
        state = DetectorState(**_known(DetectorState, data["state"]))
        _validate_state(state, detector.params)
        detector.state = state
        return detector

    # --- scoring ----------------------------------------------------------------------------

    def _unpack(self, x: Mapping[str, Any]) -> tuple[float, float | None]:
        return _checked(float(x["value"])), _to_seconds(x.get("timestamp"))

    def _season_slot(self, time: float | None) -> int | None:
        if time is None:
            return None
        phase = (time % SECONDS_PER_DAY) / SECONDS_PER_DAY
        return min(int(phase * self.params.season_bins), self.params.season_bins - 1)

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
        return [s.last_value, s.level, season]

    def _best_predictor(self, predictions: list[float | None], gap: bool) -> int:
        s = self.state
        best = -1
        for k, prediction in enumerate(predictions):
            if prediction is None or s.error_counts[k] < PREDICTOR_MIN_ERRORS:
                continue
            if gap and PREDICTORS[k] == "last":
                continue  # the last value says little across a gap
            if best < 0 or s.errors[k] < s.errors[best]:
                best = k
        return best

    def _assess(self, value: float, time: float | None) -> _Assessment:
        s, p = self.state, self.params
        predictions = self._predictions(time)
        best = self._best_predictor(predictions, self._is_gap(time))
        if best < 0:
            return _Assessment(0.0, False, -1, value, 0.0, 0.0, (0.0, 0.0, 0.0), 0)
        expected = predictions[best]
        assert expected is not None  # _best_predictor skips missing predictions
        floor = RELATIVE_FLOOR * (1.0 + abs(expected))
        spread = math.sqrt(s.errors[best]) + floor
        deviation = (value - expected) / spread
        surprises = self._surprises(value, deviation, floor)
        ready = s.n >= p.warmup and s.history_n >= 1
        evidence, feature = self._evidence(surprises) if ready else (0.0, 0)
        novelty = self._range_novelty(value) if ready else 0.0
        if novelty > evidence:
            evidence, feature = novelty, FEATURES.index("range")
        drift = self._drift_sums(value, floor) if ready else (0.0, 0.0)
        if max(drift) > p.drift_threshold:
            drift = (0.0, 0.0)  # reported once, then watched afresh
            if p.drift_evidence > evidence:
                evidence, feature = p.drift_evidence, FEATURES.index("drift")
        score = evidence / (evidence + p.score_scale)
        return _Assessment(
            score, ready, best, expected, spread, deviation, surprises, feature, drift
        )

    def _drift_sums(self, value: float, floor: float) -> tuple[float, float]:
        s, p = self.state, self.params
        z = (value - s.baseline_mean) / (math.sqrt(s.baseline_var) + floor)
        up = max(0.0, s.drift_up + z - p.drift_allowance)
        down = max(0.0, s.drift_down - z - p.drift_allowance)
        return up, down

    def _surprises(
        self, value: float, deviation: float, floor: float
    ) -> tuple[float, float, float]:
        """The point, burst and shift surprises of ``value`` (see the class docstring)."""
        s, p = self.state, self.params
        point = min(abs(deviation), p.surprise_cap)
        window = s.recent[len(s.recent) - (p.score_window - 1) :] if p.score_window > 1 else []
        burst = (sum(window) + point) / (len(window) + 1)
        fast = _ew_mean(s.fast_level, value, self._level_alpha)
        shift = abs(fast - s.baseline_mean) / (math.sqrt(s.baseline_var) + floor)
        return point, burst, min(shift, p.surprise_cap)

    def _evidence(self, surprises: tuple[float, float, float]) -> tuple[float, int]:
        """Largest surprise in units of its own long-run standard deviation."""
        s, floor = self.state, self.params.history_floor
        best, feature = 0.0, 0
        for k, surprise in enumerate(surprises):
            z = (surprise - s.history_mean[k]) / max(math.sqrt(s.history_var[k]), floor)
            if z > best:
                best, feature = z, k
        return best, feature

    def _range_novelty(self, value: float) -> float:
        """Evidence for a value beyond everything seen so far (NAB HTM's "spatial
        anomaly"): strong by design, since a new extreme is the clearest sign of a
        failing sensor or process; 0.0 inside the range widened by the tolerance."""
        s, p = self.state, self.params
        if s.low is None or s.high is None or s.high <= s.low:
            return 0.0
        excess = max(value - s.high, s.low - value) / (s.high - s.low) - p.range_tolerance
        return p.range_evidence * (1.0 + excess) if excess > 0 else 0.0

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
        s = self.state
        s.n += 1
        self._learn_time(time)
        s.low = value if s.low is None else min(s.low, value)
        s.high = value if s.high is None else max(s.high, value)
        # The fast level and the recent surprises follow every point, flagged or
        # not: they are how a persisting change shows.
        s.fast_level = _ew_mean(s.fast_level, value, self._level_alpha)
        s.drift_up, s.drift_down = assessment.drift
        if assessment.predictor >= 0:
            self._remember_surprise(assessment.surprises[0])
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

    def _remember_surprise(self, point: float) -> None:
        s = self.state
        s.recent.append(point)
        if len(s.recent) > self.params.score_window:
            del s.recent[0]

    def _learn_surprises(self, surprises: tuple[float, float, float]) -> None:
        s = self.state
        s.history_n += 1
        alpha = max(self._history_alpha, 1.0 / s.history_n)
        for k, surprise in enumerate(surprises):
            s.history_mean[k], s.history_var[k] = _ew_update(
                s.history_mean[k], s.history_var[k], surprise, alpha, s.history_n == 1
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
        s.level = _ew_mean(s.level, value, self._level_alpha)
        slot = self._season_slot(time)
        if slot is not None:
            s.season[slot] = _ew_mean(s.season[slot], value, p.season_alpha)

    def _learn_baseline(self, value: float) -> None:
        s = self.state
        # Plain averaging until the EW window fills, so early points are not overweighted.
        alpha = max(self._baseline_alpha, 1.0 / s.n)
        s.baseline_mean, s.baseline_var = _ew_update(
            s.baseline_mean, s.baseline_var, value, alpha, s.n == 1
        )


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
    """A dataclass of numbers and lists of numbers as a dict; lists are copied."""
    return {
        f.name: list(value) if isinstance(value := getattr(instance, f.name), list) else value
        for f in fields(instance)
    }


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return dict(data)


def _validate_state(state: DetectorState, params: DetectorParams) -> None:
    """Reject restored state that would break the bounds the detector relies on."""
    sizes = {
        "errors": (len(state.errors), len(PREDICTORS)),
        "error_counts": (len(state.error_counts), len(PREDICTORS)),
        "history_mean": (len(state.history_mean), HISTORY_FEATURES),
        "history_var": (len(state.history_var), HISTORY_FEATURES),
        "season": (len(state.season), params.season_bins),
    }
    for name, (actual, expected) in sizes.items():
        if actual != expected:
            raise ValueError(f"state.{name} has {actual} entries, expected {expected}")
    if len(state.recent) > params.score_window:
        raise ValueError("state.recent is longer than score_window")
