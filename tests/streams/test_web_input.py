"""What the read API takes from a query string or header (issue 20 item 6).

``str.isdigit`` and ``int()`` accept more than a client should send: ``'①'``
and full-width digits are digits to Python, ``int(' 1')`` and ``int('1_0')``
succeed, and a Redis stream id is two unsigned 64-bit integers, which twenty
decimal digits can overflow. Each of those is a 400 with a message.
"""

from __future__ import annotations

import pytest

from streams.http.web import alert_filters, page_args, stream_position

TWO_TO_64 = 2**64


@pytest.mark.parametrize(
    "position",
    ["0", "1732845600000", "1732845600000-0", f"{TWO_TO_64 - 1}-{TWO_TO_64 - 1}", "007-01"],
)
def test_a_stream_id_redis_takes_is_taken_as_given(position: str) -> None:
    assert stream_position(position, "Last-Event-ID") == position


@pytest.mark.parametrize(
    "position",
    [
        str(TWO_TO_64),  # one past the largest millisecond part
        f"{TWO_TO_64}-0",
        f"1-{TWO_TO_64}",
        "99999999999999999999",  # 20 digits, past 2**64
        "0" * 21,
        " 1",
        "1 ",
        "+1",
        "1_0",
        "１",  # full-width digit one
        "1-١",  # Arabic-Indic digit one
        "①",
        "1-",
        "-1",
        "1-2-3",
        "",
        "$",  # Redis's "from now" is chosen by the server, never sent
    ],
)
def test_anything_else_is_refused_with_a_message(position: str) -> None:
    with pytest.raises(ValueError, match="after must be a stream id like 1732845600000-0"):
        stream_position(position, "after")


def test_the_refusal_quotes_a_bounded_part_of_the_value() -> None:
    with pytest.raises(ValueError) as refused:
        stream_position("9" * 5000, "Last-Event-ID")
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize(
    "region", ["①②③④⑤⑥", "１３０１０２", " 13010", "13010 ", "1301020", "13010"]
)
def test_a_region_filter_is_six_ascii_digits(region: str) -> None:
    with pytest.raises(ValueError, match="6-digit county code"):
        alert_filters({"region": region})


def test_valid_filters_pass() -> None:
    assert alert_filters({"region": "130102", "severity": "high"}) == {
        "region": "130102",
        "severity": "high",
    }


@pytest.mark.parametrize(
    "query",
    [
        {"limit": " 1"},
        {"limit": "1_0"},
        {"limit": "５"},
        {"limit": "+5"},
        {"offset": "-0"},
        {"offset": "٣"},
        {"limit": "0"},
        {"limit": "501"},
        {"offset": "1000001"},
        {"limit": "9" * 5000},
    ],
)
def test_paging_takes_ascii_integers_in_range(query: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="limit must be 1..500 and offset 0..1000000"):
        page_args(query)


def test_paging_defaults_and_bounds() -> None:
    assert page_args({}) == (50, 0)
    assert page_args({"limit": "500", "offset": "1000000"}) == (500, 1_000_000)
