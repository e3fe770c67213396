"""Prometheus histograms from a worker's ``/metrics``: parse, subtract, take quantiles."""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

#: Cumulative bucket counts by upper bound (``le``), +Inf included.
Buckets = dict[float, float]


def scrape(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
        return str(response.read().decode("utf-8"))


def histogram_buckets(text: str, name: str) -> Buckets:
    """Cumulative buckets of histogram ``name``, summed over all label sets.

    >>> text = '''# TYPE h histogram
    ... h_bucket{kind="a",le="0.1"} 1.0
    ... h_bucket{kind="a",le="+Inf"} 2.0
    ... h_bucket{kind="b",le="0.1"} 3.0
    ... h_bucket{kind="b",le="+Inf"} 3.0
    ... '''
    >>> histogram_buckets(text, "h")
    {0.1: 4.0, inf: 5.0}
    """
    buckets: Buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + float(sample.value)
    return dict(sorted(buckets.items()))


def subtract(after: Mapping[float, float], before: Mapping[float, float]) -> Buckets:
    """Observations made between two scrapes (counters only grow)."""
    return {le: count - before.get(le, 0.0) for le, count in sorted(after.items())}


def total(buckets: Mapping[float, float]) -> float:
    return buckets.get(math.inf, max(buckets.values(), default=0.0))


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The ``q`` quantile as PromQL's ``histogram_quantile`` estimates it.

    Linear interpolation inside the bucket holding the rank; the lowest bucket
    starts at 0; a rank in the +Inf bucket returns the highest finite bound.

    >>> quantile(0.5, {0.1: 0.0, 0.3: 10.0, math.inf: 10.0})
    0.2
    >>> quantile(0.99, {1.0: 5.0, math.inf: 10.0}), quantile(0.5, {1.0: 0.0, math.inf: 0.0})
    (1.0, None)
    """
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must lie in [0, 1], got {q}")
    ordered = sorted(buckets.items())
    count = total(buckets)
    if count <= 0:
        return None
    rank = q * count
    lower_bound, lower_count = 0.0, 0.0
    for upper_bound, cumulative in ordered:
        if cumulative >= rank:
            if math.isinf(upper_bound):
                return lower_bound
            if cumulative == lower_count:
                return upper_bound
            share = (rank - lower_count) / (cumulative - lower_count)
            return lower_bound + (upper_bound - lower_bound) * share
        lower_bound, lower_count = upper_bound, cumulative
    return lower_bound
