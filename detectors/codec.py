"""A small binary writer/reader for table values: varints, doubles, short strings.

State crosses process boundaries through the changelog, so it is encoded as
plain data (never pickle) and compactly: most subjects are small, and the
table holds every subject of a city.

>>> out = Writer()
>>> out.uint(300); out.double(1.5); out.text("价格"); out.optional_text(None)
>>> data = out.getvalue()
>>> reader = Reader(data)
>>> reader.uint(), reader.double(), reader.text(), reader.optional_text()
(300, 1.5, '价格', None)
>>> len(data)
18
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache
from math import copysign

_DOUBLE = struct.Struct("<d")
#: The first byte of a scaled number past one byte: its sign, and its length below 16.
_POSITIVE, _NEGATIVE, _DOUBLE_FOLLOWS = 0x80, 0x90, 0xFF


@lru_cache(maxsize=16)
def _doubles(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}d")


class Writer:
    def __init__(self) -> None:
        self._parts = bytearray()

    def uint(self, value: int) -> None:
        """An unsigned LEB128 varint: 1 byte below 128, 2 below 16,384."""
        if value < 0x80:  # most of them: counts, lengths, flags, words
            if value < 0:
                raise ValueError(f"uint cannot encode {value}")
            self._parts.append(value)
            return
        parts = self._parts
        while value >= 0x80:
            parts.append((value & 0x7F) | 0x80)
            value >>= 7
        parts.append(value)

    def uints(self, *values: int) -> None:
        """Several uints (bools count as 0 and 1), in one go when all are below 128."""
        if max(values) < 0x80:
            self._parts.extend(values)  # refuses a negative one
        else:
            for value in values:
                self.uint(value)

    def sint(self, value: int) -> None:
        """A signed varint (zigzag)."""
        self.uint(value * 2 if value >= 0 else -value * 2 - 1)

    def double(self, value: float) -> None:
        self._parts += _DOUBLE.pack(value)

    def doubles(self, values: Sequence[float]) -> None:
        """Doubles back to back, as many as the reader is told."""
        self._parts += _doubles(len(values)).pack(*values)

    def scaled(self, value: float, scale: int, base: int = 0) -> None:
        """A double, in one to a few bytes when it is a whole number of ``1/scale``.

        Lossless: ``value * scale - base`` is written as an integer only when
        dividing it back gives exactly ``value`` (so 1767292876.8 s is
        1,767,292,876,800 ms, relative to ``base``): one byte from -64 to 63, else
        a byte for its sign and length and its magnitude in that many bytes. Any
        other value, ``-0.0``, ``nan`` and infinities among them, is a marker byte
        and an 8-byte double.
        """
        try:
            whole = round(value * scale)
        except (ValueError, OverflowError):  # nan, infinities
            whole = None
        if whole is not None and whole / scale == value and (whole or copysign(1.0, value) > 0):
            offset = whole - base
            if -64 <= offset < 64:
                self._parts.append(offset * 2 if offset >= 0 else -offset * 2 - 1)
                return
            magnitude = offset if offset >= 0 else -offset
            size = (magnitude.bit_length() + 7) >> 3
            if size < 16:
                self._parts.append((_POSITIVE if offset >= 0 else _NEGATIVE) | size)
                self._parts += magnitude.to_bytes(size, "little")
                return
        self._parts.append(_DOUBLE_FOLLOWS)
        self._parts += _DOUBLE.pack(value)

    def word(self, value: str, index: Mapping[str, int]) -> None:
        """A string from a fixed table as its place in it (one byte for the first 127),
        any other string spelled out after a 0."""
        place = index.get(value)
        if place is None:
            self._parts.append(0)
            self.text(value)
        elif place < 0x7F:
            self._parts.append(place + 1)
        else:
            self.uint(place + 1)

    def text(self, value: str) -> None:
        raw = value.encode("utf-8")
        self.uint(len(raw))
        self._parts += raw

    def optional_text(self, value: str | None) -> None:
        """``None`` and ``""`` are told apart by a leading flag."""
        if value is None:
            self.uint(0)
        else:
            self.uint(1)
            self.text(value)

    def raw(self, value: bytes | bytearray) -> None:
        self._parts += value

    def getvalue(self) -> bytes:
        return bytes(self._parts)


class Reader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def uint(self) -> int:
        data, at = self._data, self._at
        byte = data[at]
        if byte < 0x80:
            self._at = at + 1
            return byte
        result, shift = byte & 0x7F, 7
        while True:
            at += 1
            byte = data[at]
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                self._at = at + 1
                return result
            shift += 7

    def uints(self, count: int) -> tuple[int, ...]:
        """What :meth:`Writer.uints` wrote of ``count`` numbers."""
        at = self._at
        head = self._data[at : at + count]
        if len(head) == count and max(head, default=0) < 0x80:
            self._at = at + count
            return tuple(head)
        return tuple(self.uint() for _ in range(count))

    def sint(self) -> int:
        value = self.uint()
        return value // 2 if value % 2 == 0 else -(value + 1) // 2

    def double(self) -> float:
        (value,) = _DOUBLE.unpack_from(self._data, self._at)
        self._at += 8
        return float(value)

    def doubles(self, count: int) -> tuple[float, ...]:
        values = _doubles(count).unpack_from(self._data, self._at)
        self._at += count * 8
        return tuple(values)

    def scaled(self, scale: int, base: int = 0) -> float:
        head = self._data[self._at]
        self._at += 1
        if head < 0x80:
            return (base + (head >> 1 if head & 1 == 0 else -(head >> 1) - 1)) / scale
        if head == _DOUBLE_FOLLOWS:
            return self.double()
        size, sign = head & 0x0F, head & 0xF0
        magnitude = int.from_bytes(self._data[self._at : self._at + size], "little")
        self._at += size
        if sign == _NEGATIVE:
            magnitude = -magnitude
        elif sign != _POSITIVE:
            raise ValueError(f"no scaled number starts with {head:#x}")
        return (base + magnitude) / scale

    def word(self, words: Sequence[str]) -> str:
        place = self.uint()
        if place == 0:
            return self.text()
        if place > len(words):
            raise ValueError(f"word {place} is not in this code's table of {len(words)}")
        return words[place - 1]

    def text(self) -> str:
        size = self.uint()
        value = bytes(self._data[self._at : self._at + size]).decode("utf-8")
        self._at += size
        return value

    def optional_text(self) -> str | None:
        return self.text() if self.uint() else None

    def raw(self, size: int) -> bytes:
        value = bytes(self._data[self._at : self._at + size])
        self._at += size
        return value

    def at_end(self) -> bool:
        return self._at == len(self._data)
