"""How long the public side shows what has no publication period, and how long a report is valid.

Adverse records are published for the period of their class (NDRC Order 36,
``detectors/policy.toml`` ``[publication]``); licences, passed spot checks,
commitments, honours and complaint counts have no such period, so their
windows are set here, in ``pipeline/disclosure.toml`` (style rule 6: policy is
data). A public site or worker given ``CREDITWATCH_DISCLOSURE`` reads that file
instead (``streams/settings.py``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from detectors.policy_values import PolicyError
from detectors.policy_values import require as _get

DEFAULT_DISCLOSURE_PATH = Path(__file__).with_name("disclosure.toml")
#: No window may reach further back than the longest publication period allows a
#: record to be kept on show (NDRC Order 36: at most 3 years), give or take leap days.
MAX_DAYS = 1096


class DisclosureError(PolicyError):
    """The disclosure file is missing, malformed or out of range."""


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    version: str
    report_valid: timedelta
    licence_window: timedelta
    spot_check_window: timedelta
    commitment_window: timedelta
    honour_window: timedelta
    complaint_window: timedelta
    notes_window: timedelta


def _days(table: dict[str, Any], key: str, where: str) -> timedelta:
    days = _get(table, key, int, where, error=DisclosureError, label="disclosure")
    if not 1 <= days <= MAX_DAYS:
        raise DisclosureError(f"disclosure: '{where}{key}' must be 1..{MAX_DAYS} days, got {days}")
    return timedelta(days=days)


def parse_disclosure(document: dict[str, Any]) -> DisclosurePolicy:
    """Build the policy from a parsed TOML document, naming the key of any bad value.

    >>> parse_disclosure({"version": "x", "report": {"valid_days": 0}, "windows": {}})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pipeline.disclosure_policy.DisclosureError: ...'report.valid_days' must be 1..1096 days, got 0
    """
    version = _get(document, "version", str, "", error=DisclosureError, label="disclosure")
    report = _get(document, "report", dict, "", error=DisclosureError, label="disclosure")
    windows = _get(document, "windows", dict, "", error=DisclosureError, label="disclosure")
    return DisclosurePolicy(
        version=version,
        report_valid=_days(report, "valid_days", "report."),
        licence_window=_days(windows, "licence_days", "windows."),
        spot_check_window=_days(windows, "spot_check_days", "windows."),
        commitment_window=_days(windows, "commitment_days", "windows."),
        honour_window=_days(windows, "honour_days", "windows."),
        complaint_window=_days(windows, "complaint_days", "windows."),
        notes_window=_days(windows, "notes_days", "windows."),
    )


def load_disclosure(path: str | os.PathLike[str] | None = None) -> DisclosurePolicy:
    """The disclosure file at ``path``, or the bundled ``pipeline/disclosure.toml``."""
    resolved = Path(path or DEFAULT_DISCLOSURE_PATH)
    try:
        return parse_disclosure(tomllib.loads(resolved.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DisclosureError(f"disclosure file not found: {resolved}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DisclosureError(f"disclosure file {resolved} is not valid TOML: {exc}") from None
