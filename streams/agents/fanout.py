"""What one ingest batch hands to the detectors that look across subjects.

The ingest agent's partitions are keyed by subject; the peer-outlier,
cross-sector and cross-region detectors need their whole group (peer group,
legal representative, complaint category) in one place. A batch collects their
inputs and sends them re-keyed, coalesced so the extra traffic stays per batch
rather than per record: one message per peer group, one per complaint category,
of at most :data:`ROWS_PER_MESSAGE` rows (more go in further messages, in order).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, field
from typing import Any, TypeVar

import orjson

from detectors.cross_region import local_day
from detectors.cross_sector import LinkedListing, Member
from pipeline.subject import CountedComplaint, Outputs
from streams.runtime.channels import (
    adverse_signals,
    complaint_counts,
    peer_feature_changes,
    produce,
)
from topics.internal import AdverseReport, AdverseSignal, PeerUpdate

#: Rows in one re-keyed message. A batch can hold a group's whole batch of rows
#: (streams.runtime.batches.BATCH_MAX records, each with ids of up to 128 characters): in
#: one message that could pass the 1,000,000 bytes the producer sends; 200 of the
#: largest rows take about a tenth of it.
ROWS_PER_MESSAGE = 200

Row = TypeVar("Row")


def chunks(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    """``rows`` in order, :data:`ROWS_PER_MESSAGE` at a time."""
    for start in range(0, len(rows), ROWS_PER_MESSAGE):
        yield rows[start : start + ROWS_PER_MESSAGE]


@dataclass(slots=True)
class ComplaintCount:
    """Complaints of one category from one county and sector on one day, in a batch."""

    category: str
    county: str
    sector: str
    at_s: float  # the latest one's event time
    event_id: str  # the latest one's
    count: int = 0


@dataclass(slots=True)
class Fanout:
    peer_updates: dict[str, list[PeerUpdate]] = field(default_factory=lambda: defaultdict(list))
    adverse_reports: list[AdverseReport] = field(default_factory=list)
    linkage_members: list[tuple[str, Member]] = field(default_factory=list)
    # category -> (county, sector, day) -> count
    complaints: dict[str, dict[tuple[str, str, int], ComplaintCount]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def add(self, outputs: Outputs) -> None:
        for update in outputs.peer_updates:
            self.peer_updates[update.group].append(update)
        if outputs.adverse_report is not None:
            self.adverse_reports.append(outputs.adverse_report)
        if outputs.linkage_member is not None:
            self.linkage_members.append(outputs.linkage_member)
        if outputs.counted_complaint is not None:
            self._tally(outputs.counted_complaint)

    def _tally(self, c: CountedComplaint) -> None:
        key = (c.county, c.sector, local_day(c.at_s))
        tally = self.complaints[c.category].get(key)
        if tally is None:
            tally = self.complaints[c.category][key] = ComplaintCount(
                c.category, c.county, c.sector, c.at_s, c.event_id
            )
        tally.count += 1
        if c.at_s >= tally.at_s:
            tally.at_s, tally.event_id = c.at_s, c.event_id

    async def send(self) -> None:
        for report in self.adverse_reports:
            await produce(adverse_signals, report.group.encode(), orjson.dumps(report))
        for group, member in self.linkage_members:
            await send_linkage(group, {"type": MEMBER, "member": astuple(member)})
        for group, updates in self.peer_updates.items():
            for rows in chunks(updates):
                await produce(peer_feature_changes, group.encode(), orjson.dumps(rows))
        for category, tallies in self.complaints.items():
            counts = sorted(tallies.values(), key=lambda tally: tally.at_s)
            for part in chunks(counts):
                await produce(complaint_counts, category.encode(), orjson.dumps(part))


# The linkage-group topic (risk.internal.adverse-signals) carries three kinds of
# message; an adverse report has no "type" (it came first).
MEMBER = "member"  # a subject newly reported its legal representative
LISTED = "listed"  # a subject entered a credit list


async def send_linkage(group: str, message: dict[str, Any]) -> None:
    await produce(adverse_signals, group.encode(), orjson.dumps(message))


LinkageMessage = AdverseReport | Member | LinkedListing


def decode_linkage_message(value: bytes) -> LinkageMessage:
    document = orjson.loads(value)
    kind = document.get("type")
    if kind == MEMBER:
        return Member(*document["member"])
    if kind == LISTED:
        return LinkedListing(
            **{**document["listing"], "basis": tuple(document["listing"]["basis"])}
        )
    return _adverse_report(document)


def _adverse_report(document: dict[str, Any]) -> AdverseReport:
    return AdverseReport(
        group=document["group"],
        signal=AdverseSignal(**document["signal"]),
        tier=document["tier"],
        score=float(document["score"]),
    )


def decode_peer_updates(value: bytes) -> list[PeerUpdate]:
    def features(values: list[float] | None) -> tuple[float, ...] | None:
        return None if values is None else tuple(values)

    return [
        PeerUpdate(**{**row, "old": features(row["old"]), "new": features(row["new"])})
        for row in orjson.loads(value)
    ]


def decode_complaint_counts(value: bytes) -> list[ComplaintCount]:
    return [ComplaintCount(**row) for row in orjson.loads(value)]
