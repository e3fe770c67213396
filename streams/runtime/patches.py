"""Replacing a method of a Faust class, the same way for every change we make to Faust.

The worker installs each change when it is built (``streams.app.create_app``),
never at import; a second install (a second worker built in one process, a
bench child) must wrap Faust's own method again, not the previous replacement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Method = Callable[..., Any]


def replace_method(owner: type, name: str, replace: Callable[[Method], Method]) -> None:
    """Set ``owner.name`` to ``replace(original)``, ``original`` being Faust's own method."""
    current = getattr(owner, name)
    original = getattr(current, "creditwatch_original", current)
    replacement = replace(original)
    replacement.creditwatch_original = original  # type: ignore[attr-defined]
    setattr(owner, name, replacement)
