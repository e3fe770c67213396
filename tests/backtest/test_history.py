"""What the backtest replays: every input feed the store keeps, role records included."""

from __future__ import annotations

from datetime import datetime, timedelta

from creditwatch.backtest.history import SOURCES, StoredRecord
from creditwatch.evaluation.scenario_offline import OfflinePipeline
from detectors.policy import load_policy
from pipeline.context import StepContext
from streams.archive.rows import INPUT_TOPICS as ARCHIVED_INPUTS
from tests.factories import (
    ENFORCEMENT_TOPIC,
    ROLES_TOPIC,
    T0,
    encode,
    enforcement_data,
    make_uscc,
    pseudonym_key,
    role_data,
)
from topics.catalogue import INPUT_TOPICS

CONTEXT = StepContext(load_policy(), pseudonym_key())
LISTED, SISTER = make_uscc(931), make_uscc(932)


def test_every_input_feed_the_store_keeps_is_replayed() -> None:
    replayed = {topic for topic, _, _ in SOURCES}
    assert replayed == {spec.name for spec in INPUT_TOPICS} == set(ARCHIVED_INPUTS)


def stored(topic: str, at: datetime, data: dict[str, object]) -> StoredRecord:
    return StoredRecord(at, topic, str(data["subject"]).encode(), encode(data))


def test_a_replayed_register_links_a_representative_s_subjects() -> None:
    """Seed 十一: the register names one legal representative for two subjects; when one
    is listed, the other is told (a linked-listing alert), in the replay as live."""
    roles = [
        stored(ROLES_TOPIC, T0, role_data(subject=s, person_id="LR000000931"))
        for s in (LISTED, SISTER)
    ]
    ruling = enforcement_data(
        subject=LISTED,
        kind="court_dishonest_debtor",
        severity=None,
        department="court",
        occurred_at=T0 + timedelta(days=1),
    )
    history = [*roles, stored(ENFORCEMENT_TOPIC, T0 + timedelta(days=1), ruling)]

    def linked_alerts(records: list[StoredRecord]) -> list[str | None]:
        run = OfflinePipeline(CONTEXT).feed(records)
        return [a.subject for a in run.alerts if ":linked_listing:" in a.dedup_key]

    assert linked_alerts(history) == [SISTER]  # of the joint-punishment listing
    assert linked_alerts(history[2:]) == []  # without the register nobody is linked
