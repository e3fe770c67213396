"""The case agent's step: alerts open and fill cases, people work them, verdicts feed back.

Alerts here are the alert manager's own ``risk.alerts`` snapshots, so the case
agent is tested against the wire it reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from detectors.alert_book import AlertBook
from detectors.alert_rules import AlertRule
from detectors.policy import load_policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline import alert_manager
from pipeline.alerts import AlertSubject, make_alert
from pipeline.cases import (
    MAX_PENDING_NOTICES,
    Case,
    CaseAudit,
    CaseBook,
    CaseContext,
    RulePrecision,
    precision,
    refusal,
    step,
    verdict_of,
)
from pipeline.routing import load_routing
from tests.factories import SUBJECT, T0_S
from topics.cases import (
    CaseAction,
    CaseCommand,
    CaseStatus,
    case_key_of,
    decode_case_message,
    encode_case_command,
)
from topics.internal import Action, Command, decode_alert_message
from topics.vocabulary import AlertKind

POLICY = load_policy()
ROUTING = load_routing()
CONTEXT = CaseContext(ROUTING, POLICY.supervision.calendar)
MANAGER = alert_manager.AlertContext(POLICY, (), T0_S)


def opened(
    rule: AlertRule = AlertRule.COURT_DISHONEST_DEBTOR,
    subject: str = SUBJECT,
    region: str = "130102",
    sector: str = "food_drug",
    event_id: str = "e1",
    at_s: float = T0_S,
) -> dict[str, Any]:
    """The alert manager's "opened" snapshot of a rule's alert."""
    hit = RuleHit(rule, f"{rule}:{event_id}", AlertKind.RULE, POLICY.alerts.severity.of(rule),
                  (Fact(rule.value, 1.0, detail=f"event {event_id}"),), cooldown=False)  # fmt: skip
    about = AlertSubject(subject, "D", 80.0, region, sector)
    alert = make_alert(f"{subject}:{hit.rule_key}", hit, about, [event_id], at_s, POLICY)
    _, (snapshot, *_) = alert_manager.step(
        AlertBook(), decode_alert_message(alert.dumps()), MANAGER
    )
    return dict(snapshot)


def command(case: Case, action: CaseAction, value: str = "", **extra: Any) -> CaseCommand:
    at_s = extra.pop("at_s", T0_S + 3600)
    actor = extra.pop("actor", "li")
    return CaseCommand(action, case.case_id, actor, at_s, value, **extra)


def open_case(alert: dict[str, Any] | None = None) -> tuple[CaseBook, Case]:
    book, outputs = step(None, alert or opened(), CONTEXT)
    cases = [o for o in outputs if isinstance(o, Case)]
    assert len(cases) == 1
    return book, cases[0]


def test_an_alert_opens_a_case_owned_by_the_first_matching_route_with_its_queue_sla():
    book, outputs = step(None, opened(), CONTEXT)
    case, audit = outputs
    assert isinstance(case, Case) and isinstance(audit, CaseAudit)
    # 长安区, food_drug, high severity: the first route (changan-food, food-safety queue).
    assert (case.owner, case.queue, case.status) == ("changan-food", "food-safety", "new")
    assert case.case_id == f"{SUBJECT}~1" and case_key_of(case.case_id) == SUBJECT
    # Raised Monday 16:00 in Shijiazhuang; 3 working days: due at the end of Thursday.
    assert case.due_at == "2026-03-05T16:00:00+00:00"
    assert (audit.actor, audit.action, audit.details["owner"]) == (
        "system",
        "case.open",
        "changan-food",
    )


def test_an_alert_no_route_matches_opens_an_unassigned_case_in_the_general_queue():
    _, case = open_case(opened(region="130108", sector="education"))  # 裕华区: no route
    assert (case.owner, case.queue) == (None, "general")
    assert case.due_at == "2026-03-09T16:00:00+00:00"  # 5 working days: Monday next


def test_the_sla_counts_working_days_past_a_weekend():
    friday = datetime(2026, 3, 6, 2, 0, tzinfo=UTC).timestamp()  # Friday 10:00 local
    _, case = open_case(opened(at_s=friday))
    assert case.due_at == "2026-03-11T16:00:00+00:00"  # Mon, Tue, Wed: end of Wednesday


def test_later_alerts_and_notices_gather_in_the_open_case_and_repeats_change_nothing():
    book, case = open_case()
    second = opened(AlertRule.PENALTY_SERIOUS, event_id="e2")
    _, outputs = step(book, second, CONTEXT)
    assert outputs == [book.case] and [a.alert_id for a in case.alerts][-1] == second["alert_id"]
    # Replayed snapshot of the same revision: nothing.
    assert step(book, second, CONTEXT)[1] == []
    notice = {"notice_id": "n1", "kind": "interview_due", "department": "market_regulation",
              "issued_at": "2026-03-03T00:00:00+00:00", "due_at": None}  # fmt: skip
    _, outputs = step(book, notice, CONTEXT)
    assert outputs == [case] and [n.notice_id for n in case.notices] == ["n1"]
    assert step(book, notice, CONTEXT)[1] == []  # redelivered


def test_an_alert_resolved_in_its_book_is_resolved_in_the_case():
    first = opened()
    book, case = open_case(first)
    manager_book, _ = alert_manager.step(
        AlertBook(), decode_alert_message(orjson.dumps(first)), MANAGER
    )
    resolve = Command(Action.RESOLVE, first["alert_id"], "li", "done", T0_S + 60)
    _, (resolved,) = alert_manager.step(manager_book, resolve, MANAGER)
    _, outputs = step(book, resolved, CONTEXT)
    assert outputs == [case] and case.alerts[0].status == "resolved"


def test_a_digest_opens_no_case_and_a_resolved_unknown_alert_neither():
    digest = {**opened(), "dedup_key": "digest:x", "subject": None}
    assert step(None, digest, CONTEXT)[1] == []
    assert step(None, {**opened(), "status": "resolved"}, CONTEXT)[1] == []


def test_an_area_wide_alert_opens_an_incident_case_keyed_by_its_dedup_key():
    area = {**opened(), "subject": None, "dedup_key": "cross-region:k1"}
    _, case = open_case(area)
    assert case.key == "cross-region:k1" and case.subject is None


def test_notices_before_any_case_wait_for_the_next_case_bounded():
    book = CaseBook()
    for n in range(MAX_PENDING_NOTICES + 5):
        notice = {"notice_id": f"n{n}", "kind": "interview_due", "department": "tax",
                  "issued_at": "2026-03-01T00:00:00+00:00", "due_at": None}  # fmt: skip
        assert step(book, notice, CONTEXT)[1] == []
    _, case = open_case()  # a fresh book: nothing pending
    assert case.notices == []
    _, outputs = step(book, opened(), CONTEXT)
    assert len(outputs[0].notices) == MAX_PENDING_NOTICES and book.pending_notices == []


def test_status_moves_forward_and_closing_needs_a_verdict_on_every_alert():
    book, case = open_case()
    assert refusal(case, command(case, CaseAction.STATUS, "measures_taken")) is not None
    assert refusal(case, command(case, CaseAction.STATUS, "nonsense")) is not None
    close = command(case, CaseAction.STATUS, "closed")
    assert "verdict" in (refusal(case, close) or "")
    assert step(book, close, CONTEXT)[1] == []  # refused on arrival too
    step(book, command(case, CaseAction.STATUS, "investigating"), CONTEXT)
    alert_id = case.alerts[0].alert_id
    step(book, command(case, CaseAction.VERDICT, "risk_confirmed", alert_id=alert_id), CONTEXT)
    _, outputs = step(book, close, CONTEXT)
    assert outputs == [case] and case.status == CaseStatus.CLOSED and case.closed_at is not None
    assert [c.action for c in case.history] == ["open", "status", "verdict", "status"]
    # Closed is final: no more notes, and the next alert opens case 2 with the same routing.
    assert refusal(case, command(case, CaseAction.NOTE, "late")) is not None
    _, (second, _) = step(book, opened(event_id="e9"), CONTEXT)
    assert second.case_id == f"{SUBJECT}~2" and second.owner == "changan-food"
    # A command for case 1 no longer applies to the key.
    assert step(book, command(case, CaseAction.NOTE, "to the old case"), CONTEXT)[1] == []


def test_verdicts_must_name_an_alert_of_the_case_and_a_known_verdict():
    book, case = open_case()
    alert_id = case.alerts[0].alert_id
    assert refusal(case, command(case, CaseAction.VERDICT, "risk_confirmed", alert_id="x"))
    assert refusal(case, command(case, CaseAction.VERDICT, "maybe", alert_id=alert_id))
    step(book, command(case, CaseAction.VERDICT, "false_positive", alert_id=alert_id), CONTEXT)
    # A verdict can be corrected while the case is open: the latest counts.
    step(book, command(case, CaseAction.VERDICT, "risk_confirmed", alert_id=alert_id), CONTEXT)
    rule = AlertRule.COURT_DISHONEST_DEBTOR.value
    assert verdict_of(case) == {f"{case.case_id}|{alert_id}": f"{rule}|rule|risk_confirmed"}


def test_reassignment_and_notes_are_kept_with_who_and_when():
    book, case = open_case()
    assert refusal(case, command(case, CaseAction.ASSIGN, "  ")) is not None
    step(book, command(case, CaseAction.ASSIGN, "qiaoxi-all", actor="centre"), CONTEXT)
    step(book, command(case, CaseAction.NOTE, "visited the site"), CONTEXT)
    assert case.owner == "qiaoxi-all"
    assert [(n.actor, n.text) for n in case.notes] == [("li", "visited the site")]
    assert case.history[1].detail == "changan-food → qiaoxi-all"
    assert case.revision == 3


def test_a_case_is_escalated_once_and_only_when_past_its_due_time():
    book, case = open_case()
    due_s = datetime.fromisoformat(case.due_at).timestamp()
    early = command(case, CaseAction.ESCALATE, at_s=due_s - 1, actor="system")
    assert step(book, early, CONTEXT)[1] == []
    late = command(case, CaseAction.ESCALATE, at_s=due_s + 1, actor="system")
    _, (escalated, audit) = step(book, late, CONTEXT)
    assert escalated.escalated_at is not None and isinstance(audit, CaseAudit)
    assert audit.action == "case.escalate"
    assert step(book, late, CONTEXT)[1] == []  # a second timer's escalation: nothing


def test_a_closed_case_is_not_escalated():
    book, case = open_case()
    alert_id = case.alerts[0].alert_id
    step(book, command(case, CaseAction.VERDICT, "not_actionable", alert_id=alert_id), CONTEXT)
    step(book, command(case, CaseAction.STATUS, "closed"), CONTEXT)
    late = command(case, CaseAction.ESCALATE, at_s=T0_S + 30 * 86400, actor="system")
    assert step(book, late, CONTEXT)[1] == [] and not case.overdue(late.at_s)


def test_the_book_and_its_messages_survive_their_encodings():
    book, case = open_case()
    step(book, command(case, CaseAction.NOTE, "说明：现场检查"), CONTEXT)
    again = CaseBook.from_bytes(book.to_bytes())
    assert again == book and Case.from_json(orjson.loads(orjson.dumps(case.to_json()))) == case
    sent = command(case, CaseAction.VERDICT, "false_positive", alert_id="a1")
    assert decode_case_message(encode_case_command(sent)) == sent
    with pytest.raises(ValueError):
        decode_case_message(b'{"something": "else"}')
    with pytest.raises(ValueError):
        CaseBook.from_bytes(b'{"format": 99}')


def test_precision_per_rule_and_kind_worst_first_not_actionable_counted_apart():
    rows = precision(
        ["a|rule|risk_confirmed"] * 3
        + ["a|rule|false_positive"]
        + ["b|rule|false_positive"] * 2
        + ["b|rule|not_actionable"]
        + ["c|iot|not_actionable"]
        + ["d|rule|from_a_newer_version"]
    )
    assert [(r.rule, r.precision) for r in rows] == [("b", 0.0), ("a", 0.75), ("c", None)]
    assert rows[0].to_json()["judged"] == 3
    assert RulePrecision("x", "rule").precision is None


def test_a_file_is_attached_once_with_who_and_when_and_never_to_a_closed_case():
    book, case = open_case()
    described = {"attachment_id": "f1", "name": "现场照片.jpg", "media_type": "image/jpeg",
                 "size": 3, "sha256": "ab" * 32}  # fmt: skip
    attach = command(case, CaseAction.ATTACH, attachment=described)
    assert refusal(case, command(case, CaseAction.ATTACH)) == "an attachment must be described"
    _, outputs = step(book, attach, CONTEXT)
    assert outputs == [case] and [(a.name, a.by) for a in case.attachments] == [
        ("现场照片.jpg", "li")
    ]
    assert step(book, attach, CONTEXT)[1] == []  # sent twice: kept once
    assert case.history[-1].detail == "现场照片.jpg"
    alert_id = case.alerts[0].alert_id
    step(book, command(case, CaseAction.VERDICT, "risk_confirmed", alert_id=alert_id), CONTEXT)
    step(book, command(case, CaseAction.STATUS, "closed"), CONTEXT)
    later = command(case, CaseAction.ATTACH, attachment={**described, "attachment_id": "f2"})
    assert refusal(case, later) is not None and step(book, later, CONTEXT)[1] == []
    # A description with a field this version does not know is a bad message (to the DLQ).
    book2, case2 = open_case()
    odd = command(case2, CaseAction.ATTACH, attachment={**described, "colour": "red"})
    with pytest.raises(TypeError):
        step(book2, odd, CONTEXT)
