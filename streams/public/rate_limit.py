"""Per-client rate limiting for the public site: a token bucket per client address.

Each client may make ``burst`` requests at once and ``rate`` per second after
that; a request that finds its bucket empty is answered 429 with
``Retry-After`` (whole seconds until a token is back). Buckets live in this
process, at most ``max_clients`` of them: the least recently seen is dropped
first, which forgets nothing that matters (an idle bucket is full anyway).
Several site processes behind one address each keep their own buckets.

Behind a reverse proxy every request comes from the proxy: name it in
``trusted_proxies`` and the client is the address the proxy appended to
``X-Forwarded-For`` (the rightmost one not itself a trusted proxy). A
client's own ``X-Forwarded-For`` is never believed otherwise, or anyone
could pick a fresh address per request.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    rate: float  # tokens per second
    burst: float  # bucket size
    max_clients: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")

    def take(self, client: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from ``client``'s bucket: 0.0 if granted, else the seconds
        until it could be (nothing is taken then).

        >>> now = [0.0]
        >>> buckets = TokenBuckets(rate=1, burst=2, clock=lambda: now[0])
        >>> [buckets.take("a"), buckets.take("a"), buckets.take("a")]
        [0.0, 0.0, 1.0]
        >>> now[0] = 1.0; buckets.take("a")
        0.0
        """
        now = self.clock()
        tokens, seen = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - seen) * self.rate)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (cost - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def retry_after(wait_s: float) -> str:
    """``Retry-After`` in whole seconds, at least 1.

    >>> retry_after(0.2), retry_after(2.01)
    ('1', '3')
    """
    return str(max(1, math.ceil(wait_s)))


def client_address(
    remote: str | None, forwarded_for: str | None, trusted_proxies: Collection[str]
) -> str:
    """Who is asking: the peer, or behind trusted proxies the address they forwarded.

    >>> client_address("10.0.0.2", "1.2.3.4, 10.0.0.2", {"10.0.0.2"})
    '1.2.3.4'
    >>> client_address("10.0.0.1", "6.6.6.6, 1.2.3.4", {"10.0.0.1"})
    '1.2.3.4'
    >>> client_address("5.5.5.5", "1.2.3.4", {"10.0.0.1"})
    '5.5.5.5'
    """
    peer = remote or "unknown"
    if peer not in trusted_proxies or not forwarded_for:
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if hop and hop not in trusted_proxies:
            return hop
    return peer
