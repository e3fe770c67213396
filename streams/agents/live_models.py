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

from dataclasses import dataclass

import orjson
from faust.types import EventT, TableT

from detectors.iot import StreamAnomalyDetector
from streams.runtime.tables import BatchCache, DecodedValues

#: Readings between two checkpoints of one device's model.
CHECKPOINT_EVERY = 32
#: Models kept decoded; the least recently used beyond this are dropped (their
#: learning since the last checkpoint with them) and reloaded when needed.
LIVE_MODELS_MAX = 50_000


def load_model(raw: bytes) -> StreamAnomalyDetector:
    return StreamAnomalyDetector.from_dict(orjson.loads(raw))


def dump_model(detector: StreamAnomalyDetector) -> bytes:
    return orjson.dumps(detector.to_dict())


@dataclass(slots=True)
class _Live:
    model: StreamAnomalyDetector
    unsaved: int = 0  # readings learned since the last checkpoint


class LiveModels:
    """Decoded models by device key, emptied on a rebalance like every :class:`DecodedValues`."""

    def __init__(self, table: TableT, max_live: int = LIVE_MODELS_MAX) -> None:
        self.table = table
        self.live: DecodedValues[_Live] = DecodedValues(max_live)

    def get(self, key: bytes) -> StreamAnomalyDetector:
        """The device's model: live, else its last checkpoint, else a new one."""
        entry = self.live.get(key)
        if entry is None:
            stored = self.table.get(key)
            entry = _Live(load_model(stored) if stored is not None else StreamAnomalyDetector())
            self.live.put(key, entry)
        return entry.model

    def learned(
        self, key: bytes, flagged: bool, event: EventT, writes: BatchCache[StreamAnomalyDetector]
    ) -> None:
        """Count one reading learned; queue a checkpoint when due or after a flag."""
        entry = self.live.values[key]
        entry.unsaved += 1
        if flagged or entry.unsaved >= CHECKPOINT_EVERY:
            writes.put(key, entry.model, event)
            entry.unsaved = 0
