"""The supervision workflows inside the ingest agent: case files, timers, their outputs.

They run in the agent that owns the subject's risk state, so a repair or a
corrected record moves the subject's score and tier at once, in the same
batch, with the same version sequence. Only enforcement records that open,
close or publish something have a case file; complaints and readings never
touch one.
"""

from __future__ import annotations

from dataclasses import asdict

from faust.types import EventT

from detectors.casefile import CaseFile
from detectors.policy import default_policy
from detectors.state import SubjectState
from detectors.workflow import WORKFLOW_KINDS, Effects, on_filing, on_time
from pipeline.supervision import apply_effects, filing_of
from streams.agents.agenda import Agenda
from streams.agents.fanout import LISTED, send_linkage
from streams.agents.publish import send_alert, send_list_change, send_notice, send_tier_change
from streams.runtime.tables import BatchCache, bytes_table
from topics.enforcement import EnforcementEvent

policy = default_policy()

case_files = bytes_table(
    "supervision-cases",
    "Supervision case file per subject USCC (detectors.casefile.CaseFile, JSON): "
    "published records, commitments, rectification orders, objections, lists, repairs.",
)


class Casework:
    """One batch's supervision work, sharing the batch's working copies of subject states."""

    def __init__(self, states: BatchCache[SubjectState]) -> None:
        self.states = states
        self.cases: BatchCache[CaseFile] = BatchCache(
            case_files, CaseFile.from_bytes, CaseFile.to_bytes
        )
        self.agenda = Agenda()

    async def before(self, event: EventT, record: EnforcementEvent) -> None:
        """Fire whatever fell due on the record's partition before the record's time."""
        now_s = record.occurred_at.timestamp()
        for subject in self.agenda.advance(event, now_s):
            key = subject.encode()
            case, state = self.cases.get(key), self.states.get(key)
            if case is not None and state is not None:
                await self._settle(event, subject, state, case, on_time(case, now_s, policy))

    async def after(self, event: EventT, record: EnforcementEvent, state: SubjectState) -> None:
        """Apply a processed (not duplicate) record to its subject's case file."""
        filing = filing_of(record)
        publishes = filing.signal is not None and policy.supervision.publication_of(filing.signal)
        if filing.kind not in WORKFLOW_KINDS and not publishes:
            return
        case = self.cases.get(record.subject.encode()) or CaseFile()
        await self._settle(event, record.subject, state, case, on_filing(case, filing, policy))

    async def _settle(
        self, event: EventT, subject: str, state: SubjectState, case: CaseFile, effects: Effects
    ) -> None:
        """Publish what the workflows decided, store the case and book its next due time."""
        await self._publish(subject, state, case, effects)
        # An item already late when it arrived (a deadline before the watermark).
        watermark = self.agenda.watermark(event.message.partition)
        await self._publish(subject, state, case, on_time(case, watermark, policy))
        key = subject.encode()
        self.cases.put(key, case, event)
        self.states.put(key, state, event)
        due = case.next_due_s()
        if due is not None:
            self.agenda.schedule(event, subject, due)

    @staticmethod
    async def _publish(subject: str, state: SubjectState, case: CaseFile, effects: Effects) -> None:
        if not effects:
            return
        outputs = apply_effects(subject, state, case, effects, policy)
        for alert in outputs.alerts:
            await send_alert(alert)
        if outputs.tier_change is not None:
            await send_tier_change(outputs.tier_change)
        for change in outputs.list_changes:
            await send_list_change(change)
        for notice in outputs.notices:
            await send_notice(notice)
        for group, listing in outputs.linked_listings:
            await send_linkage(group, {"type": LISTED, "listing": asdict(listing)})

    async def flush(self) -> None:
        await self.cases.flush()
        await self.agenda.flush()
