"""``risk.credit-reports``: every credit report issued, so any copy can be checked for years.

Seed 三 puts credit reports (信用报告) into approvals and procurement; a
report handed to a third party must be checkable. Each issued report is a
record here, kept forever and keyed by its number: its subject, issue time,
validity, the SHA-256 of the PDF issued, who requested it, and the report's
content as a document (sections of text tables). The record store keeps
them in ``credit_reports`` (the public verification page reads it there), and
``creditwatch archive rebuild`` restores it from this topic like every
other table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust


class IssuedCreditReport(faust.Record, serializer="json", include_metadata=False):
    """One issued report. ``sha256`` is of the PDF exactly as delivered; ``requested_by``
    the token name that asked for it (a department system, or the centre)."""

    number: str
    subject: str
    issued_at: datetime
    valid_until: datetime
    sha256: str
    requested_by: str
    disclosure_version: str
    document: dict[str, Any]
