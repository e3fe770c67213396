"""The public site's rate limit: a token bucket per client, bounded, proxy-aware."""

from __future__ import annotations

import pytest

from streams.public.rate_limit import TokenBuckets, client_address, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_the_rate_and_others_are_not_affected():
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=5, clock=clock)
    assert [buckets.take("a") for _ in range(5)] == [0.0] * 5
    wait = buckets.take("a")
    assert wait == pytest.approx(0.5)  # one token comes back every half second
    assert buckets.take("b") == 0.0
    clock.now = 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_a_refused_request_takes_nothing_so_waiting_the_answer_is_enough():
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=1, clock=clock)
    buckets.take("a")
    for _ in range(10):
        assert buckets.take("a") == pytest.approx(1.0)
    clock.now = 1.0
    assert buckets.take("a") == 0.0


def test_a_costly_request_needs_several_tokens():
    buckets = TokenBuckets(rate=1, burst=5, clock=Clock())
    assert buckets.take("a", cost=5) == 0.0
    assert buckets.take("a", cost=5) == pytest.approx(5.0)


def test_memory_is_bounded_and_the_least_recent_client_is_forgotten():
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=1, max_clients=3, clock=clock)
    for client in ("a", "b", "c"):
        buckets.take(client)
    buckets.take("a")  # refused, but seen recently
    buckets.take("d")  # "b" is the least recently seen: dropped
    assert len(buckets._buckets) == 3 and "b" not in buckets._buckets
    assert buckets.take("a") > 0  # still remembered, still empty


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert [retry_after(w) for w in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]


def test_only_a_trusted_proxy_s_forwarded_address_is_believed():
    proxies = {"10.0.0.1"}
    assert client_address("203.0.113.9", "1.1.1.1", proxies) == "203.0.113.9"
    assert client_address("10.0.0.1", "198.51.100.7", proxies) == "198.51.100.7"
    # A client's own X-Forwarded-For entries come first; the proxy appends the real one.
    assert client_address("10.0.0.1", "1.1.1.1, 198.51.100.7", proxies) == "198.51.100.7"
    assert client_address("10.0.0.1", None, proxies) == "10.0.0.1"
    assert client_address(None, None, proxies) == "unknown"


def test_a_rate_limit_needs_a_positive_rate():
    with pytest.raises(ValueError):
        TokenBuckets(rate=0, burst=1)
