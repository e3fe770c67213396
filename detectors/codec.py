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

_DOUBLE = struct.Struct("<d")


class Writer:
    def __init__(self) -> None:
        self._parts = bytearray()

    def uint(self, value: int) -> None:
        """An unsigned LEB128 varint: 1 byte below 128, 2 below 16,384."""
        if value < 0:
            raise ValueError(f"uint cannot encode {value}")
        while value >= 0x80:
            self._parts.append((value & 0x7F) | 0x80)
            value >>= 7
        self._parts.append(value)

    def sint(self, value: int) -> None:
        """A signed varint (zigzag)."""
        self.uint(value * 2 if value >= 0 else -value * 2 - 1)

    def double(self, value: float) -> None:
        self._parts += _DOUBLE.pack(value)

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

    def raw(self, value: bytes) -> None:
        self._parts += value

    def getvalue(self) -> bytes:
        return bytes(self._parts)


class Reader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def uint(self) -> int:
        shift = result = 0
        while True:
            byte = self._data[self._at]
            self._at += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def sint(self) -> int:
        value = self.uint()
        return value // 2 if value % 2 == 0 else -(value + 1) // 2

    def double(self) -> float:
        (value,) = _DOUBLE.unpack_from(self._data, self._at)
        self._at += 8
        return float(value)

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
