"""What a record hands to the detectors beyond one subject, and the alerts they raise.

``process`` reports peer features, adverse records and counted complaints; the
fan-out re-keys them; the keyed agents' handlers turn them into alerts. All of
it runs here without a broker: the handlers are plain functions of (state, bytes).
"""

from __future__ import annotations

from dataclasses import asdict, astuple
from datetime import timedelta
from functools import partial

import orjson

from detectors.casefile import CaseFile
from detectors.cross_sector import linkage_group
from detectors.policy import load_policy
from detectors.state import SubjectState
from detectors.workflow import on_filing
from pipeline.context import StepContext
from pipeline.subject import Outputs, process
from pipeline.supervision import apply_effects, filing_of
from streams.agents import cross_region, cross_sector, peers
from streams.agents.fanout import Fanout
from tests.factories import DAY, T0, complaint, enforcement, make_uscc, pseudonym_key
from topics.decode import InputRecord
from topics.internal import CrossSectorCandidate, encode_cross_sector_candidate
from topics.risk import to_json_dict

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
#: The keyed agents' handlers, as their agents call them: (state, message bytes).
handle_complaint_counts = partial(cross_region.handle_complaint_counts, CONTEXT)
handle_linkage_message = partial(cross_sector.handle_linkage_message, CONTEXT)
handle_candidate = partial(cross_sector.handle_candidate, CONTEXT)
handle_peer_updates = partial(peers.handle_peer_updates, CONTEXT)
SUBJECT = make_uscc(700)


def outputs_of(records: list[InputRecord]) -> list[Outputs]:
    """Each record processed against its own subject's state, as the ingest agent does."""
    states: dict[str, SubjectState] = {}
    produced = []
    for record in records:
        states[record.subject], out = process(states.get(record.subject), record, CONTEXT)
        produced.append(out)
    return produced


def test_adverse_records_are_reported_to_the_representatives_group() -> None:
    penalty = enforcement(subject=SUBJECT, legal_rep_id="LR000000042")
    honour = enforcement(subject=SUBJECT, kind="honour", severity=None, occurred_at=T0 + DAY)
    first, second = outputs_of([penalty, honour])
    assert first.adverse_report is not None
    assert first.adverse_report.group == linkage_group(SUBJECT, "LR000000042", pseudonym_key())
    assert first.adverse_report.signal.department == "market_regulation"
    assert second.adverse_report is None  # a positive record is not adverse


def test_complaints_count_for_their_category_but_enquiries_do_not() -> None:
    counted, enquiry = outputs_of(
        [complaint(subject=SUBJECT), complaint(subject=SUBJECT, kind="enquiry")]
    )
    assert counted.counted_complaint is not None
    assert counted.counted_complaint.category == "food_safety"
    assert enquiry.counted_complaint is None


def test_peer_features_are_reported_on_joining_and_on_change_only() -> None:
    joined, same, changed = outputs_of(
        [
            enforcement(subject=SUBJECT, kind="honour", severity=None),
            complaint(subject=SUBJECT, kind="enquiry"),  # changes no feature
            complaint(subject=SUBJECT),
        ]
    )
    assert [(u.old, u.new is not None) for u in joined.peer_updates] == [(None, True)]
    assert same.peer_updates == []
    (update,) = changed.peer_updates
    assert update.new is not None and update.new[1] == 1.0  # complaints_30d


def test_a_subject_that_moves_county_leaves_its_old_peer_group() -> None:
    first, moved = outputs_of(
        [complaint(subject=SUBJECT), complaint(subject=SUBJECT, region="130104")]
    )
    joined, left = moved.peer_updates
    assert joined.group.endswith("130104") and joined.old is None
    assert left.group == first.peer_updates[0].group and left.new is None


def fanned_out(outputs: list[Outputs]) -> Fanout:
    fanout = Fanout()
    for out in outputs:
        fanout.add(out)
    return fanout


def test_penalties_from_two_departments_raise_one_explained_cross_sector_alert() -> None:
    outputs = outputs_of(
        [
            enforcement(subject=SUBJECT, event_id="pen-1"),
            enforcement(
                subject=SUBJECT,
                event_id="tax-1",
                kind="tax_violation",
                severity=None,
                department="taxation",
                occurred_at=T0 + 3 * DAY,
            ),
        ]
    )
    state, candidates = None, []
    for report in fanned_out(outputs).adverse_reports:
        state, found = handle_linkage_message(state, orjson.dumps(report))
        candidates += found
    # The linkage group's hop finds the pattern; its sector's hop judges and raises it.
    (candidate,) = candidates
    assert isinstance(candidate, CrossSectorCandidate) and candidate.sector == "food_drug"
    mix, (alert,) = handle_candidate(None, encode_cross_sector_candidate(candidate))
    assert mix.findings == 1  # learned: a young sector finds nothing unusual
    assert alert.kind == "cross-sector"
    assert alert.dedup_key == f"cross_sector:subject:{SUBJECT}"
    assert alert.source_event_ids == ["pen-1", "tax-1"]
    facts = {e.fact: e for e in alert.evidence}
    assert facts["departments"].value == 2
    assert {"penalty_general", "tax_violation"} <= set(facts)
    assert alert.created_at == T0 + 3 * DAY


def test_complaints_surging_in_three_counties_raise_one_area_wide_alert() -> None:
    counties = ["130102", "130104", "130105", "130108"]
    background = [
        complaint(subject=make_uscc(800 + i), region=county, received_at=T0 + day * DAY)
        for day in range(10)
        for i, county in enumerate(counties)
    ]
    surge_day = T0 + 10 * DAY + timedelta(hours=2)
    surge = [
        complaint(subject=make_uscc(900 + i), region=county, received_at=surge_day)
        for county in counties[:3]
        for i in range(8)
    ]
    series, raised = None, []
    for batch in (background, surge):
        fanout = fanned_out(outputs_of(batch))
        for counts in fanout.complaints.values():
            series, alerts = handle_complaint_counts(
                series, orjson.dumps(sorted(counts.values(), key=lambda c: c.at_s))
            )
            raised += alerts
    (alert,) = raised
    wire = to_json_dict(alert)
    assert wire["subject"] is None and wire["tier"] is None
    assert wire["kind"] == "cross-region" and wire["region"] == "130100"
    assert wire["dedup_key"] == f"cross_region:food_safety:{surge_day.date().isoformat()}"
    surging = {e["fact"]: e for e in wire["evidence"] if e["fact"].startswith("county ")}
    assert set(surging) == {f"county {c}" for c in counties[:3]}
    assert all(e["value"] == 8 and e["threshold"] < 8 / 3 for e in surging.values())


def test_a_subject_far_above_its_peers_raises_a_peer_outlier_alert() -> None:
    peers = [
        enforcement(subject=make_uscc(1000 + i), kind="honour", severity=None) for i in range(12)
    ]
    outlier = [
        complaint(subject=SUBJECT, category=category, received_at=T0 + i * timedelta(hours=1))
        for i, category in enumerate(["price", "contract", "advertising", "counterfeit"] * 4)
    ]
    group, raised = None, []
    for batch in (peers, outlier):
        for updates in fanned_out(outputs_of(batch)).peer_updates.values():
            group, alerts = handle_peer_updates(group, orjson.dumps(updates))
            raised += alerts
    (alert,) = raised
    assert alert.subject == SUBJECT and alert.dedup_key == f"{SUBJECT}:peer_outlier"
    assert alert.evidence[0].fact == "complaints_30d"
    assert alert.evidence[0].threshold == 0.0  # the peers' mean


def test_an_unreadable_internal_message_is_a_clear_error_for_the_dead_letter_topic() -> None:
    handlers = (handle_linkage_message, handle_candidate, handle_complaint_counts,
                handle_peer_updates)  # fmt: skip
    for handle in handlers:
        try:
            handle(None, b'{"not": "what it expects"}')
        except (ValueError, TypeError, KeyError):
            continue
        raise AssertionError(f"{handle.func.__name__} accepted a malformed message")


def test_a_joint_punishment_listing_alerts_the_representative_s_other_subjects() -> None:
    rep = "LR000000077"
    sister, cousin, listed = make_uscc(710), make_uscc(711), make_uscc(712)
    # The sister company reports the representative with a positive record (a
    # member join), the cousin with an adverse one; both join the group.
    outputs = outputs_of(
        [
            enforcement(subject=sister, kind="honour", severity=None, legal_rep_id=rep),
            enforcement(subject=cousin, severity="minor", legal_rep_id=rep, sector="finance"),
        ]
    )
    fanout = fanned_out(outputs)
    assert [member.subject for _, member in fanout.linkage_members] == [sister]
    state = None
    for _, member in fanout.linkage_members:
        state, _ = handle_linkage_message(
            state, orjson.dumps({"type": "member", "member": astuple(member)})
        )
    for report in fanout.adverse_reports:
        state, _ = handle_linkage_message(state, orjson.dumps(report))
    # The listed subject's case: a court ruling, with the same representative.
    case = CaseFile()
    ruling = enforcement(
        subject=listed,
        kind="court_dishonest_debtor",
        severity=None,
        department="court",
        legal_rep_id=rep,
    )
    subject_state, _ = process(None, ruling, CONTEXT)
    effects = on_filing(case, filing_of(ruling), POLICY)
    supervision = apply_effects(listed, subject_state, case, effects, CONTEXT)
    ((group, listing),) = supervision.linked_listings
    assert group == linkage_group(listed, rep, pseudonym_key())
    message = {"type": "listed", "listing": asdict(listing)}
    state, alerts = handle_linkage_message(state, orjson.dumps(message))
    assert sorted(a.subject for a in alerts) == sorted([sister, cousin])  # not the listed one
    assert {a.kind for a in alerts} == {"list"}
    assert all(listed in a.evidence[0].detail for a in alerts)
    # What the listing rests on, as the listed subject's own listing words it.
    assert {(e.fact, e.label_zh) for a in alerts for e in a.evidence[1:]} == {
        ("court_dishonest_debtor", "失信被执行人")
    }
    assert all(ruling.event_id in (a.evidence[1].detail_zh or "") for a in alerts)
    # Redelivered, the listing yields the same alert ids (the alert manager dedups them).
    _, again = handle_linkage_message(state, orjson.dumps(message))
    assert {a.alert_id for a in again} == {a.alert_id for a in alerts}
