"""Issuing a credit report: read the subject's file, decide, render, digest, record.

A report is a fact like any other: it goes on ``risk.credit-reports`` (kept
forever, so ``creditwatch archive rebuild`` restores it) and, in the same
request, into the store's ``credit_reports`` table, through the sink's own
row mapping and writer, so the public verification page knows it at once.
The row written here and the one the sink writes later from the topic are the
same row (same content, same topic partition and offset): the sink's insert
finds it and changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import orjson

from pipeline.credit_report import CreditReport, build_report, report_document, report_number
from pipeline.disclosure import disclose
from pipeline.disclosure_policy import DisclosurePolicy
from streams.archive.rows import rows_of
from streams.archive.store import PendingRow, Source, StoreWriter
from streams.public.store import Store
from streams.public.subject_file import load_subject
from topics.catalogue import RISK_CREDIT_REPORTS
from topics.credit_reports import IssuedCreditReport


class Delivered(Protocol):
    """Where the broker put a record (aiokafka's and Faust's RecordMetadata both are)."""

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


#: Sends (key, value) to risk.credit-reports and returns the broker's acknowledgement.
Publish = Callable[[bytes, bytes], Awaitable[Delivered]]


@dataclass(frozen=True, slots=True)
class IssuedPdf:
    report: CreditReport
    pdf: bytes
    sha256: str
    verify_url: str


def verification_url(public_url: str, number: str) -> str:
    """The public verification page of report ``number``.

    >>> verification_url("https://credit.example.gov.cn/", "CR-20261207-ABCDEFGHJK23")
    'https://credit.example.gov.cn/reports/CR-20261207-ABCDEFGHJK23'
    """
    return f"{public_url.rstrip('/')}/reports/{number}"


def new_number(issued_at: datetime, zone: ZoneInfo) -> str:
    """A fresh report number: 60 random bits, so numbers cannot be enumerated."""
    random_part = base64.b32encode(secrets.token_bytes(8)).decode()[:12]
    return report_number(issued_at, random_part, zone)


def encode_issued(record: IssuedCreditReport) -> bytes:
    return orjson.dumps(
        {
            "number": record.number,
            "subject": record.subject,
            "issued_at": record.issued_at.isoformat(),
            "valid_until": record.valid_until.isoformat(),
            "sha256": record.sha256,
            "requested_by": record.requested_by,
            "disclosure_version": record.disclosure_version,
            "document": record.document,
        }
    )


@dataclass(frozen=True, slots=True)
class ReportIssuer:
    """What issuing needs: the store (read and write), the font, the policy, the public
    site's address (printed on the report) and the topic to record it on."""

    store: Store
    font: Callable[[], Path]  # the CJK font to embed (FontNotFound if there is none)
    zone: ZoneInfo
    policy: DisclosurePolicy
    public_url: str
    publish: Publish

    async def issue(self, subject: str, requested_by: str, now: datetime) -> IssuedPdf:
        async with self.store.connection() as conn:
            rows = await load_subject(conn, subject, now, self.policy)
        number = new_number(now, self.zone)
        url = verification_url(self.public_url, number)
        report = build_report(disclose(rows, now, self.policy), number, self.policy, self.zone, url)
        # fpdf2 takes most of a second to import: the worker loads it on the first
        # report, not at start-up. Rendering takes a CPU-second or so: off the loop.
        from streams.public.report_pdf import render_pdf

        pdf = await asyncio.to_thread(render_pdf, report, self.font(), self.zone)
        digest = hashlib.sha256(pdf).hexdigest()
        record = IssuedCreditReport(
            number=number,
            subject=subject,
            issued_at=report.issued_at,
            valid_until=report.valid_until,
            sha256=digest,
            requested_by=requested_by,
            disclosure_version=self.policy.version,
            document=report_document(report),
        )
        key, value = number.encode(), encode_issued(record)
        delivered = await self.publish(key, value)
        await self._store_now(key, value, delivered)
        return IssuedPdf(report, pdf, digest, url)

    async def _store_now(self, key: bytes, value: bytes, delivered: Delivered) -> None:
        mapped = rows_of(RISK_CREDIT_REPORTS.name, key, value)
        assert isinstance(mapped, list), f"our own report record does not map: {mapped}"
        source = Source(RISK_CREDIT_REPORTS.name, delivered.partition, delivered.offset, key, value)
        async with self.store.connection() as conn:
            result = await StoreWriter(conn).write(
                [PendingRow(table, row, source) for table, row in mapped]
            )
        if result.rejected:
            raise RuntimeError(f"the store refused report {key.decode()}: {result.rejected[0][1]}")
