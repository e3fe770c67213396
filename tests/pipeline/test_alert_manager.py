"""The alert manager's step: candidates and commands against a subject's book.

An alert has one shape on the wire: the candidate a detector sends is the
``risk.alerts`` record, and every snapshot the manager publishes is that record
again (same fields, valid against its schema), whatever happened to it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from jsonschema import Draft202012Validator

from detectors.alert_book import AlertBook
from detectors.alert_rules import AlertRule
from detectors.policy import load_policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alert_manager import AlertContext, escalation, in_force, step
from pipeline.alerts import AlertSubject, make_alert
from tests.factories import OTHER_SUBJECT, SUBJECT, T0, T0_S
from topics.contract_schemas import SCHEMA_DIR
from topics.internal import Action, Command, decode_alert_message
from topics.risk import Alert, to_json_dict
from topics.silences import Silence
from topics.vocabulary import AlertKind, Disposition

POLICY = load_policy()
CONTEXT = AlertContext(POLICY, (), T0_S)
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
    muting = AlertContext(POLICY, in_force([silence], T0_S), T0_S + 60)
    _, (muted,) = step(AlertBook(), decode_alert_message(alert.dumps()), muting)
    assert muted["muted_by"] == "silence:s1"
    assert in_force([silence], (T0 + timedelta(hours=1)).timestamp()) == []  # ended


def test_escalation_says_how_long_nobody_acknowledged() -> None:
    command = escalation({"alert_id": "a1"}, POLICY.alerts, T0_S)
    minutes = POLICY.alerts.critical_ack_sla_s / 60
    assert (command.action, command.actor) == (Action.ESCALATE, "system")
    assert command.note == f"not acknowledged within {minutes:g} minutes"


# ---------------------------------------------------------------- dispositions, digests


def candidate_of(
    rule: AlertRule, subject: str = SUBJECT, event: str = "e1", strong: bool = False,
    sector: str = "food_drug", at_s: float = T0_S,
) -> dict[str, Any]:  # fmt: skip
    """What a detector sends for ``rule``, as the manager decodes it."""
    severity = POLICY.alerts.severity.of(rule, strong)
    facts = (Fact(rule.value, 1.0, detail=f"event {event}"),)
    hit = RuleHit(rule, rule.value, AlertKind.RULE, severity, facts, about=ABOUT.get(rule, {}))
    about = AlertSubject(subject, "C", 55.0, "130102", sector)
    alert = make_alert(f"{subject}:{rule.value}", hit, about, [event], at_s, POLICY)
    return decode_alert_message(alert.dumps())


ABOUT: dict[AlertRule, dict[str, Any]] = {
    AlertRule.COMPLAINT_SURGE: {"category": "prepaid_card"},
    AlertRule.PEER_OUTLIER: {
        "peers": 40,
        "sector": "food_drug",
        "county": "130102",
        "features": ("complaints_30d",),
    },
    AlertRule.CROSS_SECTOR: {"sources": 2, "source_kind": "departments", "subjects": 1},
}


def test_the_policy_decides_where_each_alert_is_shown() -> None:
    table = load_policy().alerts.disposition
    for rule in (AlertRule.COURT_DISHONEST_DEBTOR, AlertRule.PENALTY_SERIOUS,
                 AlertRule.COMPLAINT_SURGE):  # fmt: skip
        _, (opened, *rest) = step(None, candidate_of(rule), CONTEXT)
        assert opened["disposition"] == table.of(rule).value
        assert (opened["digest_key"] is not None) == (table.of(rule) is Disposition.DIGEST)
        assert len(rest) == (1 if table.of(rule) is Disposition.DIGEST else 0)
    # A graded rule: an ordinary peer outlier is counted in a digest, a strong one is
    # on the board, as [alerts.disposition] says.
    _, (ordinary, _) = step(None, candidate_of(AlertRule.PEER_OUTLIER), CONTEXT)
    _, (strong,) = step(None, candidate_of(AlertRule.PEER_OUTLIER, strong=True), CONTEXT)
    assert (ordinary["disposition"], strong["disposition"]) == ("digest", "board")


def test_a_day_s_alerts_of_a_rule_in_a_county_and_sector_make_one_digest_item() -> None:
    digest_book, books = AlertBook(), {SUBJECT: AlertBook(), OTHER_SUBJECT: AlertBook()}
    digests = []
    for n, subject in enumerate((SUBJECT, OTHER_SUBJECT, SUBJECT)):
        # The third is the first subject's complaint surge again, a day's repeat: folded
        # into its open alert, and so not counted in the digest again.
        member = candidate_of(AlertRule.COMPLAINT_SURGE, subject, f"e{n}", at_s=T0_S + n * 600)
        _, outputs = step(books[subject], member, CONTEXT)
        for out in outputs:
            if isinstance(out, Alert):
                _, (item,) = step(digest_book, decode_alert_message(out.dumps()), CONTEXT)
                digests.append(item)
    opened, repeated = digests
    key = f"digest:complaint_surge:130102:food_drug:{T0.date().isoformat()}"
    assert opened["dedup_key"] == repeated["dedup_key"] == key
    assert opened["subject"] is None and opened["disposition"] == "board"
    assert (repeated["event"], repeated["count"]) == ("repeated", 2)
    assert [e["fact"] for e in repeated["evidence"]] == [
        f"subject {SUBJECT}",
        f"subject {OTHER_SUBJECT}",
    ]
    assert repeated["evidence"][0]["detail_zh"] == "12315 投诉举报激增：预付卡"
    assert repeated["evidence"][0]["label_zh"] == f"主体 {SUBJECT}"
    assert repeated["evidence"][1]["label"] == f"Subject {OTHER_SUBJECT}"
    assert opened["title_zh"] == f"{T0.date().isoformat()} 长安区食品药品行业投诉举报激增日汇总"
    # A digest is an alert: people acknowledge and resolve it like any other.
    at = T0_S + 3600
    _, (acked,) = step(digest_book, Command(Action.ACK, opened["alert_id"], "li", "", at), CONTEXT)
    assert acked["status"] == "acknowledged"


def test_one_record_is_one_board_item_and_a_subject_s_next_ruling_folds_into_it() -> None:
    """A ruling raises the ruling, the drop to D and the joint-punishment listing: the
    first is on the board, the others are kept in the subject's history, folded into it."""
    book = AlertBook()
    ruling, drop, listing = (
        candidate_of(rule, event="e1")
        for rule in (AlertRule.COURT_DISHONEST_DEBTOR, AlertRule.TIER_D,
                     AlertRule.JOINT_PUNISHMENT_LIST)
    )  # fmt: skip
    listing["kind"] = "list"
    opened = [step(book, c, CONTEXT)[1][0] for c in (ruling, drop, listing)]
    assert opened[0]["muted_by"] is None and opened[0]["disposition"] == "board"
    assert [o["muted_by"] for o in opened[1:]] == [f"alert:{opened[0]['alert_id']}"] * 2
    # Another ruling a day later: the same item, counted, with its record.
    again = candidate_of(AlertRule.COURT_DISHONEST_DEBTOR, event="e2", at_s=T0_S + 86_400)
    _, (repeated,) = step(book, again, CONTEXT)
    assert (repeated["alert_id"], repeated["count"]) == (opened[0]["alert_id"], 2)
    assert repeated["source_event_ids"] == ["e1", "e2"]
    # Another record's drop to D is not folded into the ruling: it says something new.
    _, (other,) = step(AlertBook(), candidate_of(AlertRule.TIER_D, event="e9"), CONTEXT)
    assert other["muted_by"] is None


def test_a_muted_alert_seen_again_after_its_silence_ended_comes_back_on_the_board() -> None:
    silence = Silence("s1", {"region": "130102"}, T0, T0 + timedelta(hours=1), "works", "c", T0)
    book = AlertBook()
    muting = AlertContext(POLICY, [silence], T0_S + 60)
    _, (muted,) = step(book, candidate_of(AlertRule.CROSS_SECTOR), muting)
    assert muted["muted_by"] == "silence:s1"
    later = AlertContext(POLICY, in_force([silence], T0_S + 7200), T0_S + 7200)
    again = candidate_of(AlertRule.CROSS_SECTOR, event="e2", at_s=T0_S + 7200)
    _, (repeated,) = step(book, again, later)
    assert (repeated["event"], repeated["muted_by"], repeated["count"]) == ("repeated", None, 2)
