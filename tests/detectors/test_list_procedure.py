"""Seed 八 (认定依据、标准、程序): a list entry proposed, decided by the identifying
department, notified with a statement window in working days, then published."""

from __future__ import annotations

import dataclasses

from detectors.casefile import CaseFile
from detectors.policy import Policy
from detectors.supervision_policy import ListProcedure
from detectors.workflow import Effects, Filing, on_filing, on_time
from pipeline.supervision import list_action
from tests.detectors.test_workflow import POLICY, at, filing
from topics.lists import ListAction
from topics.vocabulary import AlertKind, EnforcementKind, NoticeKind

K = EnforcementKind


def with_procedure(measures_from: str = "decision") -> Policy:
    procedure = ListProcedure(5, 5, measures_from)
    lists = tuple(
        dataclasses.replace(spec, procedure=procedure) if spec.kind == "joint_punishment" else spec
        for spec in POLICY.supervision.lists
    )
    return dataclasses.replace(
        POLICY, supervision=dataclasses.replace(POLICY.supervision, lists=lists)
    )


PROCEDURE = with_procedure()
MONDAY = at(2026, 9, 21, 10)  # the week before the Mid-Autumn and National Day holidays


def ruling(case: CaseFile, policy: Policy = PROCEDURE) -> Effects:
    """A court ruling outside the life-safety fields: joint punishment, not a ban."""
    record = filing(
        K.COURT_DISHONEST_DEBTOR,
        MONDAY,
        signal="court_dishonest_debtor",
        department="court",
        sector="finance",
    )
    return on_filing(case, record, policy)


def decision(case: CaseFile, when: float, outcome: str, policy: Policy = PROCEDURE) -> Effects:
    proposal = case.listings["joint_punishment"].proposal
    record = filing(K.LIST_DECIDED, when, concerns=proposal, outcome=outcome, department="court")
    return on_filing(case, record, policy)


def steps(effects: Effects) -> list[tuple[ListAction, bool]]:
    return [(list_action(m.listing), m.listing.active) for m in effects.list_moves]


def test_an_entry_is_proposed_decided_notified_and_published_when_the_window_ends() -> None:
    case = CaseFile()
    proposed = ruling(case)
    # Proposed by the rules, for the court that made the ruling (谁认定) to decide; no
    # measures yet, no alert, nothing to publish.
    assert steps(proposed) == [(ListAction.PROPOSED, False)]
    assert proposed.alerts == []
    (task,) = proposed.notices
    assert (task.kind, task.department) == (NoticeKind.LIST_DECISION_DUE, "court")
    # Five working days: 22, 23, 24, then the Mid-Autumn holiday, then 28 and 29.
    assert task.due_s == at(2026, 9, 30)

    decided = decision(case, at(2026, 9, 28, 15), "upheld")
    assert steps(decided) == [(ListAction.DECIDED, True)]  # measures from the decision
    (notice,) = decided.notices
    assert (notice.kind, notice.department) == (NoticeKind.LIST_NOTICE, "court")
    # 告知: five working days to state its case: 29, 30, National Day, 8, 9 and the worked
    # Saturday 10 October (调休), so the window ends with that Saturday.
    assert notice.due_s == at(2026, 10, 11)
    assert decided.alerts == []

    # Its statement (陈述申辩) is kept with the entry and sent to the deciding court.
    statement = filing(
        K.LIST_STATEMENT,
        at(2026, 10, 9, 11),
        concerns=notice.concerns,
        text="已履行判决，请求不予列入",
    )
    said = file_with(case, statement)
    assert [(n.kind, n.department) for n in said.notices] == [
        (NoticeKind.LIST_STATEMENT_RECEIVED, "court")
    ]
    assert case.listings["joint_punishment"].statements[0][2] == "已履行判决，请求不予列入"

    # Not published before the window ends, not even on its last (worked) Saturday.
    assert not on_time(case, at(2026, 10, 10, 23, 59), PROCEDURE)
    published = on_time(case, at(2026, 10, 11, 0, 1), PROCEDURE)
    assert steps(published) == [(ListAction.ENTERED, True)]
    (move,) = published.list_moves
    assert move.fresh and move.listing.entered_at_s == at(2026, 10, 11)
    assert [a.hit.kind for a in published.alerts] == [AlertKind.LIST]
    # Its period runs from publication.
    assert move.listing.expires_at_s is not None
    assert move.listing.expires_at_s - move.listing.entered_at_s == 1095 * 86_400


def file_with(case: CaseFile, record: Filing) -> Effects:
    return on_filing(case, record, PROCEDURE)


def test_a_late_decision_is_escalated_once_and_still_decides() -> None:
    case = CaseFile()
    ruling(case)
    assert not on_time(case, at(2026, 9, 29, 23, 59), PROCEDURE)  # its last day
    late = on_time(case, at(2026, 9, 30, 0, 1), PROCEDURE)
    (escalation,) = late.notices
    assert (escalation.kind, escalation.department) == (
        NoticeKind.LIST_DECISION_OVERDUE,
        "court",
    )
    assert [a.hit.kind for a in late.alerts] == [AlertKind.DEADLINE]
    assert not on_time(case, at(2026, 10, 20), PROCEDURE)  # escalated once
    # Decided after the holidays: the window counts from the decision.
    decided = decision(case, at(2026, 10, 8, 9), "upheld")
    assert steps(decided) == [(ListAction.DECIDED, True)]
    assert decided.notices[0].due_s == at(2026, 10, 15)  # 9, 10 (worked Saturday), 12, 13, 14


def test_a_decision_against_the_entry_dismisses_it_and_nothing_is_published() -> None:
    case = CaseFile()
    ruling(case)
    decision(case, at(2026, 9, 28, 15), "upheld")
    # After the subject's statement the court decides against it, within the window.
    dismissed = decision(case, at(2026, 10, 9, 15), "rejected")
    assert steps(dismissed) == [(ListAction.DISMISSED, False)]
    assert not on_time(case, at(2026, 12, 31), PROCEDURE)
    assert not case.listings["joint_punishment"].active
    # A decision about a proposal that is no longer on its way changes nothing.
    assert not decision(case, at(2026, 10, 12, 9), "upheld")


def test_measures_may_apply_from_the_proposal() -> None:
    case = CaseFile()
    proposed = ruling(case, with_procedure("proposal"))
    assert steps(proposed) == [(ListAction.PROPOSED, True)]
    assert proposed.list_moves[0].measures  # the proposal carries the measures in force


def test_without_a_procedure_an_entry_is_entered_at_once() -> None:
    case = CaseFile()
    entered = ruling(case, POLICY)
    assert steps(entered) == [(ListAction.ENTERED, True)]
    assert entered.notices == [] and [a.hit.kind for a in entered.alerts] == [AlertKind.LIST]


def test_people_are_reached_only_once_the_measures_apply() -> None:
    from detectors.casefile import RoleSpan
    from pipeline.persons import listing_facts

    case = CaseFile()
    case.hold(RoleSpan("p1", "legal_representative", MONDAY - 86_400, None, "r1"))
    rules = PROCEDURE.supervision
    proposed = ruling(case)
    assert listing_facts("S1", case, proposed.list_moves, rules) == []
    decided = decision(case, at(2026, 9, 28, 15), "upheld")
    (reached,) = listing_facts("S1", case, decided.list_moves, rules)
    assert reached[0] == "p1" and reached[1].active
    dismissed = decision(case, at(2026, 10, 9, 15), "rejected")
    (ended,) = listing_facts("S1", case, dismissed.list_moves, rules)
    assert not ended[1].active  # the measures on the person end with the dismissal


def test_an_official_may_propose_an_entry_the_rules_do_not() -> None:
    case = CaseFile()
    penalty = filing(K.PENALTY, MONDAY, signal="penalty_general", sector="finance")
    assert steps(on_filing(case, penalty, PROCEDURE)) == []  # one general penalty: no list

    def propose(concerns: str, reference: str = "joint_punishment") -> Effects:
        record = filing(
            K.LIST_PROPOSED,
            at(2026, 9, 22, 9),
            concerns=concerns,
            reference=reference,
            department="taxation",
        )
        return on_filing(case, record, PROCEDURE)

    assert not propose("no-such-record")
    assert not propose(penalty.event_id, "key_attention")  # a list without a procedure
    proposed = propose(penalty.event_id)
    assert steps(proposed) == [(ListAction.PROPOSED, False)]
    assert proposed.list_moves[0].listing.basis == [penalty.event_id]
    (task,) = proposed.notices  # the proposing official's department decides it
    assert (task.kind, task.department) == (NoticeKind.LIST_DECISION_DUE, "taxation")
    assert not propose(penalty.event_id)  # already on its way
