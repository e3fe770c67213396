"""The table-value codec: what it writes compactly still comes back bit for bit."""

from __future__ import annotations

import random
import struct

import pytest

from detectors.codec import Reader, Writer

BASE_MS = 1_769_777_568_000  # a clock in whole milliseconds


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def scaled_round_trip(values: list[float], scale: int, base: int) -> list[float]:
    out = Writer()
    for value in values:
        out.scaled(value, scale, base)
    source = Reader(out.getvalue())
    read = [source.scaled(scale, base) for _ in values]
    assert source.at_end()
    return read


EDGES = [
    0.0, -0.0, 1e-9, -1e-9, 0.001, 0.0015, 1769777568.0, 1769777568.0004, 1767292876.8,
    -1767292876.8, 1e15, 1e300, -1e300, 5e-324, float("inf"), float("-inf"), 0.1 + 0.2,
]  # fmt: skip


@pytest.mark.parametrize(("scale", "base"), [(1000, 0), (1000, BASE_MS), (100, 0), (1, -7)])
def test_a_scaled_number_comes_back_bit_for_bit(scale: int, base: int) -> None:
    rng = random.Random(19)
    values = EDGES + [
        *(rng.uniform(-1e10, 1e10) for _ in range(200)),  # full-precision doubles
        *(rng.randrange(-(10**13), 10**13) / 1000 for _ in range(200)),  # whole milliseconds
        *(round(rng.uniform(0, 100), 2) for _ in range(200)),  # scores in hundredths
        *(struct.unpack("<d", rng.randbytes(8))[0] for _ in range(200)),  # any bits at all
    ]
    read = scaled_round_trip(values, scale, base)
    assert [bits(v) for v in read if v == v] == [bits(v) for v in values if v == v]  # nan aside
    assert len([v for v in read if v != v]) == len([v for v in values if v != v])


def test_whole_milliseconds_near_the_clock_take_one_to_six_bytes() -> None:
    for offset_ms, size in [(0, 1), (-64, 1), (63, 1), (64, 2), (-30 * 86_400_000, 5)]:
        out = Writer()
        out.scaled((BASE_MS + offset_ms) / 1000, 1000, BASE_MS)
        assert len(out.getvalue()) == size, offset_ms
    out = Writer()
    out.scaled(BASE_MS / 1000 + 0.0001, 1000, BASE_MS)  # finer than a millisecond
    assert len(out.getvalue()) == 9


def test_a_scaled_number_with_an_unknown_first_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="scaled"):
        Reader(bytes([0xA2, 1, 2])).scaled(1000)


def test_counts_come_back_whether_or_not_they_fit_a_byte() -> None:
    for values in [(6, 0, 1, 127), (6, 300, 1, 70_000, 0)]:
        out = Writer()
        out.uints(*values)
        source = Reader(out.getvalue())
        assert source.uints(len(values)) == values and source.at_end()
    with pytest.raises(ValueError):
        Writer().uints(1, -1)


def test_a_word_is_its_place_and_anything_else_its_text() -> None:
    words = ("", "price", "food_safety")
    places = {word: place for place, word in enumerate(words)}
    out = Writer()
    for value in ("price", "新类别", ""):
        out.word(value, places)
    assert out.getvalue()[:1] == bytes([2])
    source = Reader(out.getvalue())
    assert [source.word(words) for _ in range(3)] == ["price", "新类别", ""]
    with pytest.raises(ValueError, match="word"):
        Reader(bytes([9])).word(words)
