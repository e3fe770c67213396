"""How surprising a count is: the upper tail of a Poisson or negative binomial law.

Complaint counts are skewed: among peers averaging three complaints a month, a
few with ten are ordinary, while ten among peers averaging none is not. A
z-score reads both alike; the tail probability of the count under a law with
the peers' (or the county's) mean and variance does not. The law is Poisson
when the variance is no larger than the mean, else the negative binomial with
that mean and variance (a gamma mixture of Poissons: subjects, or days, with
rates of their own).

The *surprise* is ``-log10 P(X >= count)``: 2 is one in a hundred, 6 one in a
million. It is summed from the count upwards, so tiny tails stay exact.

>>> round(surprise(10, 3.0, 3.0), 2)    # Poisson(3): ten or more is rare
2.96
>>> round(surprise(10, 3.0, 9.0), 2)    # same mean, overdispersed: far less so
1.4
>>> surprise(0, 3.0, 3.0), surprise(4, 0.0, 0.0)
(0.0, inf)
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: pmf(k + 1) / pmf(k)
_Ratio = Callable[[int], float]
#: Terms are summed until they fall below this share of the sum.
_PRECISION = 1e-9
#: At most this many terms (beyond the mean, a tail term shrinks geometrically).
_MAX_TERMS = 100_000


def surprise(count: float, mean: float, variance: float) -> float:
    """``-log10`` of the chance of at least ``count`` under the law of ``mean`` and ``variance``."""
    x = math.ceil(count)
    if x <= 0:
        return 0.0
    if mean <= 0:
        return math.inf
    if variance <= mean:
        log_first, ratio = _poisson(x, mean)
    else:
        log_first, ratio = _negative_binomial(x, mean, variance)
    total, term, k = 1.0, 1.0, x
    while k < x + _MAX_TERMS:
        term *= ratio(k)
        total += term
        if term < _PRECISION * total:
            break
        k += 1
    log_tail = log_first + math.log(total)
    return max(0.0, -log_tail / math.log(10))


def _poisson(x: int, mean: float) -> tuple[float, _Ratio]:
    log_first = x * math.log(mean) - mean - math.lgamma(x + 1)
    return log_first, lambda k: mean / (k + 1)


def _negative_binomial(x: int, mean: float, variance: float) -> tuple[float, _Ratio]:
    size = mean * mean / (variance - mean)  # r: the gamma mixture's shape
    p = mean / (size + mean)  # the chance of a "failure" per trial
    log_first = (
        math.lgamma(x + size)
        - math.lgamma(size)
        - math.lgamma(x + 1)
        + size * math.log1p(-p)
        + x * math.log(p)
    )
    return log_first, lambda k: p * (k + size) / (k + 1)
