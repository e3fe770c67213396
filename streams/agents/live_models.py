"""The IoT models of this worker's devices: kept decoded, checkpointed now and then.

A device's model changes with every reading, and its JSON is ~5 KB: writing it
to the changelog on every reading made the model table most of the worker's
produced bytes. Issue 3 allows model state to be checkpointed rather than
logged per update, so a model is written every :data:`CHECKPOINT_EVERY`
readings, and at once when it flags a reading (the state right after an alert
is the one worth keeping). After a crash or a rebalance a model resumes from
its last checkpoint: it has forgotten at most that many readings of learning,
which shifts its baseline slightly and never loses an alert already sent.
"""

from __future__ import annotations

import math
import time
from datetime import datetime

import orjson
from faust.types import EventT, TableT

from detectors.iot import Explanation, StreamAnomalyDetector
from streams import metrics
from streams.runtime.tables import BatchCache, DecodedValues

#: Readings between two checkpoints of one device's model.
CHECKPOINT_EVERY = 32
#: Models kept decoded (``Tables.keep_decoded``); the least recently used beyond this are
#: dropped (their learning since the last checkpoint with them) and reloaded when needed.
LIVE_MODELS_MAX = 50_000


def load_model(raw: bytes) -> StreamAnomalyDetector:
    return StreamAnomalyDetector.from_dict(orjson.loads(raw))


def dump_model(detector: StreamAnomalyDetector) -> bytes:
    return orjson.dumps(detector.to_dict())


_SCORING_TIME = metrics.model_scoring_time.labels("iot")


class TimedModel:
    """A device's model, whose scoring and learning time goes to the scoring-time metric."""

    __slots__ = ("model", "unsaved")

    def __init__(self, model: StreamAnomalyDetector) -> None:
        self.model = model
        self.unsaved = 0  # readings learned since the last checkpoint

    def observe(
        self, timestamp: datetime | float | None, value: float, explain_at: float = -math.inf
    ) -> tuple[float, Explanation | None]:
        started = time.perf_counter()
        try:
            return self.model.observe(timestamp, value, explain_at)
        finally:
            _SCORING_TIME.observe(time.perf_counter() - started)


class LiveModels:
    """Decoded models by device key, emptied on a rebalance like every :class:`DecodedValues`."""

    def __init__(self, table: TableT, live: DecodedValues[TimedModel]) -> None:
        self.table = table
        self.live = live

    def get(self, key: bytes) -> TimedModel:
        """The device's model: live, else its last checkpoint, else a new one."""
        entry = self.live.get(key)
        if entry is None:
            stored = self.table.get(key)
            model = load_model(stored) if stored is not None else StreamAnomalyDetector()
            entry = TimedModel(model)
            self.live.put(key, entry)
        return entry

    def learned(
        self,
        key: bytes,
        model: TimedModel,
        flagged: bool,
        event: EventT,
        writes: BatchCache[StreamAnomalyDetector],
    ) -> None:
        """Count one reading learned by ``key``'s model; queue a checkpoint when due or
        after a flag."""
        model.unsaved += 1
        if flagged or model.unsaved >= CHECKPOINT_EVERY:
            writes.put(key, model.model, event)
            model.unsaved = 0
