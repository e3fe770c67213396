"""The alert lifecycle: dedup with counts, inhibition, silences, ack, resolve, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from detectors.alert_book import AlertBook
from detectors.policy import default_policy
from topics.internal import Action, Command
from topics.silences import Silence

POLICY = default_policy().alerts
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBJECT = "91130102MA0EXAMPL1"
NOW = T0.timestamp()  # wall time, for silences


def candidate(
    event_id: str,
    at: datetime = T0,
    key: str = "iot_anomaly:fridge-7",
    severity: str = "medium",
    kind: str = "anomaly",
) -> dict[str, Any]:
    return {
        "alert_id": f"id-{key}-{event_id}",
        "dedup_key": f"{SUBJECT}:{key}",
        "subject": SUBJECT,
        "kind": kind,
        "severity": severity,
        "score": 40.0,
        "tier": "B",
        "region": "130102",
        "sector": "food_drug",
        "title": "t",
        "evidence": [
            {"fact": "x", "value": float(len(event_id)), "threshold": None, "detail": None}
        ],
        "source_event_ids": [event_id],
        "created_at": at.isoformat(),
        "status": "open",
        "policy_version": "test",
    }


def command(action: Action, alert_id: str, at: datetime = T0) -> Command:
    return Command(action, alert_id, "inspector-li", "checked on site", at.timestamp())


def test_a_repeat_within_the_cooldown_raises_the_count_of_one_alert() -> None:
    book = AlertBook()
    (opened,) = book.receive(candidate("e1"), [], POLICY, NOW)
    (repeated,) = book.receive(candidate("e2", T0 + timedelta(hours=1)), [], POLICY, NOW)
    assert opened["event"] == "opened" and opened["count"] == 1 and opened["revision"] == 1
    assert repeated["event"] == "repeated" and repeated["alert_id"] == opened["alert_id"]
    assert repeated["count"] == 2 and repeated["revision"] == 2
    assert repeated["last_seen_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert repeated["source_event_ids"] == ["e1", "e2"]


def test_a_redelivered_candidate_changes_nothing() -> None:
    book = AlertBook()
    book.receive(candidate("e1"), [], POLICY, NOW)
    assert book.receive(candidate("e1"), [], POLICY, NOW) == []


def test_after_the_cooldown_the_condition_is_a_new_alert() -> None:
    book = AlertBook()
    (first,) = book.receive(candidate("e1"), [], POLICY, NOW)
    later = T0 + timedelta(seconds=POLICY.cooldown_s + 60)
    changes = book.receive(candidate("e2", later), [], POLICY, NOW)
    assert [c["event"] for c in changes] == ["resolved", "opened"]
    assert (
        changes[0]["alert_id"] == first["alert_id"] and changes[1]["alert_id"] != first["alert_id"]
    )


def test_a_critical_alert_mutes_lower_ones_of_the_subject() -> None:
    book = AlertBook()
    (critical,) = book.receive(candidate("c1", key="court", severity="critical"), [], POLICY, NOW)
    (lower,) = book.receive(candidate("e1"), [], POLICY, NOW)
    assert critical["muted_by"] is None
    assert lower["muted_by"] == f"alert:{critical['alert_id']}"


def test_a_silence_mutes_until_it_expires() -> None:
    silence = Silence(
        "s1", {"region": "130102", "kind": "anomaly"}, T0,
        T0 + timedelta(hours=2), "maintenance", "centre-wang", T0,
    )  # fmt: skip
    book = AlertBook()
    (muted,) = book.receive(candidate("e1"), [silence], POLICY, NOW)
    assert muted["muted_by"] == "silence:s1"
    after = T0 + timedelta(seconds=POLICY.cooldown_s + 3600)
    changes = book.receive(candidate("e2", after), [silence], POLICY, after.timestamp())
    assert changes[-1]["event"] == "opened" and changes[-1]["muted_by"] is None
    other = {"region": "130104", "kind": "anomaly", "subject": SUBJECT}
    assert not silence.mutes(other, T0.timestamp() + 60)


def test_acknowledge_then_resolve_records_who_when_and_why() -> None:
    book = AlertBook()
    (opened,) = book.receive(candidate("e1"), [], POLICY, NOW)
    (acked,) = book.command(command(Action.ACK, opened["alert_id"], T0 + timedelta(minutes=5)))
    assert acked["status"] == "acknowledged" and acked["actor"] == "inspector-li"
    assert acked["note"] == "checked on site" and acked["revision"] == 2
    assert book.command(command(Action.ACK, opened["alert_id"])) == []  # already acknowledged
    (resolved,) = book.command(command(Action.RESOLVE, opened["alert_id"]))
    assert resolved["status"] == "resolved" and resolved["event"] == "resolved"
    assert book.open == {}
    assert book.command(command(Action.RESOLVE, opened["alert_id"])) == []


def test_an_unseen_condition_resolves_itself() -> None:
    book = AlertBook()
    (opened,) = book.receive(candidate("e1"), [], POLICY, NOW)
    much_later = T0 + timedelta(seconds=POLICY.auto_resolve_s + 1)
    changes = book.receive(candidate("x1", much_later, key="other"), [], POLICY, NOW)
    assert changes[0]["alert_id"] == opened["alert_id"] and changes[0]["status"] == "resolved"
    assert changes[0]["actor"] == "system" and "not seen" in changes[0]["note"]


def test_escalation_happens_once_and_only_while_unacknowledged() -> None:
    book = AlertBook()
    (opened,) = book.receive(candidate("c1", severity="critical"), [], POLICY, NOW)
    (escalated,) = book.command(command(Action.ESCALATE, opened["alert_id"]))
    assert escalated["escalated"] and escalated["event"] == "escalated"
    assert book.command(command(Action.ESCALATE, opened["alert_id"])) == []
    other = AlertBook()
    (second,) = other.receive(candidate("c2", severity="critical"), [], POLICY, NOW)
    other.command(command(Action.ACK, second["alert_id"]))
    assert other.command(command(Action.ESCALATE, second["alert_id"])) == []


def test_open_alerts_per_subject_are_bounded() -> None:
    book = AlertBook()
    for i in range(POLICY.max_open_per_subject + 3):
        book.receive(candidate(f"e{i}", T0 + timedelta(seconds=i), key=f"k{i}"), [], POLICY, NOW)
    assert len(book.open) == POLICY.max_open_per_subject


def test_restored_book_continues_the_same_revisions() -> None:
    book = AlertBook()
    book.receive(candidate("e1"), [], POLICY, NOW)
    restored = AlertBook.from_bytes(book.to_bytes())
    assert restored == book
    (repeated,) = restored.receive(candidate("e2", T0 + timedelta(minutes=1)), [], POLICY, NOW)
    assert repeated["revision"] == 2
