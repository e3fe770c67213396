"""The subject table as the agents use it: states kept decoded, changes told to the view.

The ingest agent and the re-grade after a policy change (streams/agents/regrade.py)
work on the same states, so they share one store of decoded states; each
subject whose state either of them stores is marked for the serving view,
which writes its profile again (streams/serving/view.py).
"""

from __future__ import annotations

import asyncio

from faust.types import TableT

from detectors.state import SubjectState
from streams.runtime.channels import Outbox
from streams.runtime.tables import BatchCache, DecodedValues

#: Subject states kept decoded between batches (~1.7 KB each).
LIVE_STATES_MAX = 50_000


class Subjects:
    def __init__(self, table: TableT, decoded: DecodedValues[SubjectState], outbox: Outbox):
        self.table, self.decoded, self.outbox = table, decoded, outbox
        #: Held by an ingest batch and by a re-grade, so neither stores over the other.
        self.lock = asyncio.Lock()
        #: Subjects whose profile is to be written again, with their latest state
        #: (None: read it from the table).
        self.changed: dict[bytes, SubjectState | None] = {}

    def batch(self) -> BatchCache[SubjectState]:
        """Working copies of the subjects' states for one batch."""
        return BatchCache(
            self.table, SubjectState.from_bytes, SubjectState.to_bytes, self.outbox, self.decoded
        )

    async def store(self, states: BatchCache[SubjectState]) -> None:
        """Write the batch's changed states through, and mark them for the serving view."""
        self.changed.update(await states.flush())
