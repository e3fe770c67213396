"""One history under two policies, side by side: the offline pipeline under each.

Each stored record is decoded once (the workers' parser) and given to both
pipelines in turn, so they see the same records in the same order, and differ
only by their policy (:class:`~pipeline.context.StepContext`). The engine is
:class:`creditwatch.evaluation.scenario_offline.OfflinePipeline`, the one the
scenario evaluation runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from creditwatch.backtest.history import StoredRecord
from creditwatch.evaluation.scenario_offline import OfflinePipeline
from pipeline.context import StepContext
from topics.decode import Rejected, decode_input

#: How often (in records) the replay reports its progress.
PROGRESS_EVERY = 2_000


@dataclass
class Replay:
    """The two pipelines after the history, and what was replayed."""

    current: OfflinePipeline
    new: OfflinePipeline
    records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # by reason (none, normally)
    first: datetime | None = None  # event time of the first record replayed
    last: datetime | None = None  # and of the last
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Records replayed per second, under both policies."""
        return self.records / self.seconds if self.seconds > 0 else 0.0


def replay(
    records: Iterable[StoredRecord],
    current: StepContext,
    new: StepContext,
    progress: Callable[[int], None] | None = None,
) -> Replay:
    """Every record, in the order given, through a pipeline under each policy.

    ``progress`` is told the records replayed so far every
    :data:`PROGRESS_EVERY` records.
    """
    done = Replay(OfflinePipeline(current), OfflinePipeline(new))
    started = time.perf_counter()
    for record in records:
        done.records += 1
        if done.first is None:
            done.first = record.at
        done.last = record.at
        decoded = decode_input(record.topic, record.key, record.value)
        if isinstance(decoded, Rejected):  # the store keeps valid records only
            done.rejected[decoded.reason] = done.rejected.get(decoded.reason, 0) + 1
        else:
            done.current.decoded(decoded)
            done.new.decoded(decoded)
        if progress is not None and done.records % PROGRESS_EVERY == 0:
            progress(done.records)
    done.seconds = time.perf_counter() - started
    return done
