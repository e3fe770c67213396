"""Where the ingest agent keeps the supervision workflows' case files and timers.

The case files live beside the subjects' risk state, in the agent that owns
it, so a repair or a corrected record moves the subject's score and tier at
once, in the same batch, with the same version sequence. What the workflows
decide is in :mod:`pipeline.subject` (``step`` for a record, ``on_time`` for a
subject whose deadline its partition's event time passed); this module only
loads and stores. Only enforcement records that open, close or publish
something have a case file; complaints and readings never touch one.
"""

from __future__ import annotations

from faust.types import EventT

from detectors.casefile import CaseFile
from streams.agents.agenda import Agenda
from streams.runtime.channels import Outbox
from streams.runtime.tables import BatchCache, Tables


class Casework:
    """One batch's working copies of the case files and agendas, written back with the batch."""

    def __init__(self, tables: Tables, outbox: Outbox) -> None:
        self.cases: BatchCache[CaseFile] = BatchCache(
            tables.case_files, CaseFile.from_bytes, CaseFile.to_bytes, outbox
        )
        self.agenda = Agenda(tables.agenda, outbox)

    def due(self, event: EventT, now_s: float) -> list[str]:
        """Move the event's partition to event time ``now_s``; the subjects now due."""
        return self.agenda.advance(event, now_s)

    def watermark(self, event: EventT) -> float:
        """The event time the event's partition has reached."""
        return self.agenda.watermark(event.message.partition)

    def store(self, event: EventT, subject: str, case: CaseFile, next_due_s: float | None) -> None:
        """Keep a settled case file, and wake its subject when it next falls due."""
        self.cases.put(subject.encode(), case, event)
        if next_due_s is not None:
            self.agenda.schedule(event, subject, next_due_s)

    async def flush(self) -> None:
        await self.cases.flush()
        await self.agenda.flush()
