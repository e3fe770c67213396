"""Reading typed values out of the parsed policy document, with errors that name the key."""

from __future__ import annotations

from typing import Any

_REQUIRED = object()


class PolicyError(ValueError):
    """The policy file is missing, malformed or inconsistent."""


def require(
    table: dict[str, Any], key: str, kind: type, where: str, default: Any = _REQUIRED
) -> Any:
    """``table[key]`` checked to be a ``kind`` (ints pass as floats); ``where`` prefixes the key
    in the error message. Without ``default`` the key must be present."""
    if key not in table:
        if default is not _REQUIRED:
            return default
        raise PolicyError(f"policy: missing '{where}{key}'")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise PolicyError(f"policy: '{where}{key}' must be {kind.__name__}, got {value!r}")
    return value
