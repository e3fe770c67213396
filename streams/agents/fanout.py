"""What one ingest batch hands to the detectors that look across subjects.

The ingest agent's partitions are keyed by subject; the peer-outlier,
cross-sector and cross-region detectors need their whole group (peer group,
legal representative, complaint category) in one place. A batch collects their
inputs and sends them re-keyed, coalesced so the extra traffic stays per batch
rather than per record: one message per peer group, one per complaint category,
of at most :data:`ROWS_PER_MESSAGE` rows (more go in further messages, in order).
The messages are typed, with their encoders, in topics/internal.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from detectors.cross_region import local_day
from pipeline.subject import CountedComplaint, Outputs
from streams.agents.publish import Publisher
from topics.internal import AdverseReport, ComplaintCount, Member, PeerUpdate

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

    async def send(self, publish: Publisher) -> None:
        for report in self.adverse_reports:
            await publish.linkage(report.group, report)
        for group, member in self.linkage_members:
            await publish.linkage(group, member)
        for group, updates in self.peer_updates.items():
            for rows in chunks(updates):
                await publish.peer_updates(group, rows)
        for category, tallies in self.complaints.items():
            counts = sorted(tallies.values(), key=lambda tally: tally.at_s)
            for part in chunks(counts):
                await publish.complaint_counts(category, part)
