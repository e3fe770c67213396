"""The tail surprise of a count: Poisson, or negative binomial when overdispersed."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats as reference

from detectors.count_tails import surprise


def scipy_surprise(count: int, mean: float, variance: float) -> float:
    if variance <= mean:
        tail = reference.poisson.sf(count - 1, mean)
    else:
        size = mean * mean / (variance - mean)
        tail = reference.nbinom.sf(count - 1, size, size / (size + mean))
    return float(-math.log10(tail))


def test_it_agrees_with_scipy_over_many_means_dispersions_and_counts() -> None:
    rng = random.Random(3)
    for _ in range(500):
        mean = rng.uniform(0.05, 40.0)
        variance = mean * rng.choice([0.5, 1.0, 1.3, 3.0, 12.0])
        count = rng.randint(1, int(4 * mean) + 12)
        expected = scipy_surprise(count, mean, variance)
        if expected < 12:  # beyond, scipy's own tail loses digits
            assert surprise(count, mean, variance) == pytest.approx(expected, abs=1e-6)


def test_a_tiny_tail_stays_finite_and_grows_with_the_count() -> None:
    values = [surprise(count, 1.0, 1.0) for count in (20, 40, 80)]
    assert all(math.isfinite(v) for v in values)
    assert values[0] < values[1] < values[2]
    assert values[0] > 15  # past what 1 - cdf could express


def test_overdispersion_makes_the_same_count_less_surprising() -> None:
    assert surprise(15, 4.0, 4.0) > surprise(15, 4.0, 12.0) > surprise(15, 4.0, 40.0)


def test_edges() -> None:
    assert surprise(0, 3.0, 3.0) == 0.0  # zero or more: certain
    assert surprise(-2, 3.0, 3.0) == 0.0
    assert surprise(1, 0.0, 0.0) == math.inf  # a count where none can be
    assert surprise(2.2, 1.0, 1.0) == surprise(3, 1.0, 1.0)  # a fraction counts up
