"""Reading typed values out of the parsed policy document, with errors that name the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``require``'s default: the key must be present.
REQUIRED = object()


class PolicyError(ValueError):
    """The policy file is missing, malformed or inconsistent."""


def require(
    table: Mapping[str, Any],
    key: str,
    kind: type,
    where: str,
    default: Any = REQUIRED,
    *,
    error: type[PolicyError] = PolicyError,
    label: str = "policy",
) -> Any:
    """``table[key]`` checked to be a ``kind`` (ints pass as floats); ``where`` prefixes the key
    in the error message. Without ``default`` the key must be present. A file of its own
    (the spot-check policy) names itself with ``label`` and raises its own ``error``."""
    if key not in table:
        if default is not REQUIRED:
            return default
        raise error(f"{label}: missing '{where}{key}'")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise error(f"{label}: '{where}{key}' must be {kind.__name__}, got {value!r}")
    return value
