"""The alert manager's step: candidates and commands against a subject's book.

An alert has one shape on the wire: the candidate a detector sends is the
``risk.alerts`` record, and every snapshot the manager publishes is that record
again (same fields, valid against its schema), whatever happened to it.
"""

from __future__ import annotations

import json
from datetime import timedelta

from jsonschema import Draft202012Validator

from detectors.alert_book import AlertBook
from detectors.alert_rules import AlertRule
from detectors.policy import load_policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alert_manager import AlertContext, escalation, in_force, step
from pipeline.alerts import AlertSubject, make_alert
from tests.factories import SUBJECT, T0, T0_S
from topics.contract_schemas import SCHEMA_DIR
from topics.internal import Action, Command, decode_alert_message
from topics.risk import Alert, to_json_dict
from topics.silences import Silence
from topics.vocabulary import AlertKind

POLICY = load_policy()
CONTEXT = AlertContext(POLICY.alerts, (), T0_S)
SCHEMA = json.loads((SCHEMA_DIR / "risk.alerts.schema.json").read_text("utf-8"))


def ruling_alerts() -> list[Alert]:
    """A court dishonest-debtor ruling's alert as the detectors send it."""
    rule = AlertRule.COURT_DISHONEST_DEBTOR
    hit = RuleHit(rule, f"{rule}:e1", AlertKind.RULE, POLICY.alerts.severity.of(rule),
                  (Fact(rule.value, 1.0, detail="event e1"),), cooldown=False)  # fmt: skip
    about = AlertSubject(SUBJECT, "D", 80.0, "130102", "food_drug")
    return [make_alert(f"{SUBJECT}:{hit.rule_key}", hit, about, ["e1"], T0_S, POLICY)]


def test_every_snapshot_has_the_one_alert_shape_of_the_wire() -> None:
    alert = ruling_alerts()[0]
    candidate = decode_alert_message(alert.dumps())
    book, (opened,) = step(None, candidate, CONTEXT)
    at = T0_S + 60
    _, (acked,) = step(book, Command(Action.ACK, alert.alert_id, "li", "on it", at), CONTEXT)
    _, (closed,) = step(book, Command(Action.RESOLVE, alert.alert_id, "li", "done", at), CONTEXT)
    fields = set(to_json_dict(alert))
    validator = Draft202012Validator(SCHEMA)
    for snapshot in (opened, acked, closed):
        assert set(snapshot) == fields
        assert list(validator.iter_errors(snapshot)) == []
    assert [s["event"] for s in (opened, acked, closed)] == ["opened", "acknowledged", "resolved"]
    assert opened["title_zh"] == "法院失信被执行人认定"


def test_a_silence_in_the_context_mutes_a_new_alert_while_it_is_in_force() -> None:
    alert = ruling_alerts()[0]
    silence = Silence("s1", {"kind": alert.kind.value}, T0, T0 + timedelta(hours=1),
                      "maintenance", "centre", T0)  # fmt: skip
    muting = AlertContext(POLICY.alerts, in_force([silence], T0_S), T0_S + 60)
    _, (muted,) = step(AlertBook(), decode_alert_message(alert.dumps()), muting)
    assert muted["muted_by"] == "silence:s1"
    assert in_force([silence], (T0 + timedelta(hours=1)).timestamp()) == []  # ended


def test_escalation_says_how_long_nobody_acknowledged() -> None:
    command = escalation({"alert_id": "a1"}, POLICY.alerts, T0_S)
    minutes = POLICY.alerts.critical_ack_sla_s / 60
    assert (command.action, command.actor) == (Action.ESCALATE, "system")
    assert command.note == f"not acknowledged within {minutes:g} minutes"
