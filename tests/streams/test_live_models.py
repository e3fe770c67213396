"""IoT models stay decoded between readings and reach the changelog every few readings."""

from __future__ import annotations

from typing import Any, cast

from detectors.iot import StreamAnomalyDetector
from streams.agents.live_models import (
    CHECKPOINT_EVERY,
    LIVE_MODELS_MAX,
    LiveModels,
    dump_model,
    load_model,
)
from streams.runtime.tables import BatchCache, DecodedValues

KEY = b"fridge-7|cold_chain_temperature"
EVENT: Any = object()  # stands in for the Faust event that routes a write
OUTBOX: Any = None  # nothing is flushed here: feed() writes the checkpoints itself


def live_models(table: dict[bytes, bytes], max_live: int = LIVE_MODELS_MAX) -> LiveModels:
    return LiveModels(cast(Any, table), DecodedValues(max_live))


def feed(models: LiveModels, table: dict[bytes, bytes], readings: int, flag_at: int = -1) -> int:
    """Learn ``readings`` readings, writing checkpoints to ``table``; return the writes."""
    writes = 0
    for i in range(readings):
        batch = BatchCache(cast(Any, table), load_model, dump_model, OUTBOX)
        model = models.get(KEY)
        model.observe(float(i * 60), 4.0 + (i % 3) * 0.1)
        models.learned(KEY, model, i == flag_at, EVENT, batch)
        for key, value in batch.values.items():
            table[key] = dump_model(value)  # what flush() does, without Faust routing
            writes += 1
    return writes


def test_a_model_is_checkpointed_every_few_readings_not_on_each() -> None:
    table: dict[bytes, bytes] = {}
    models = live_models(table)
    assert feed(models, table, 3 * CHECKPOINT_EVERY) == 3
    checkpoint = load_model(table[KEY])
    assert checkpoint.state.n == 3 * CHECKPOINT_EVERY


def test_a_flagged_reading_is_checkpointed_at_once() -> None:
    table: dict[bytes, bytes] = {}
    assert feed(live_models(table), table, 5, flag_at=2) == 1
    assert load_model(table[KEY]).state.n == 3


def test_after_a_rebalance_the_model_resumes_from_its_checkpoint() -> None:
    table: dict[bytes, bytes] = {}
    models = live_models(table)
    feed(models, table, CHECKPOINT_EVERY + 5)
    models.live.clear()  # what a partition revocation does (Tables.keep_decoded)
    assert models.get(KEY).model.state.n == CHECKPOINT_EVERY


def test_live_models_are_bounded() -> None:
    models = live_models({}, max_live=10)
    for i in range(25):
        models.get(f"device-{i}".encode())
    assert len(models.live.values) == 10
    assert b"device-24" in models.live.values and b"device-0" not in models.live.values
    assert isinstance(models.get(b"device-0").model, StreamAnomalyDetector)
