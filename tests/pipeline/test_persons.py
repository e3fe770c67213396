"""Seed 十/十一: responsible people's records, from their subjects' steps to their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from detectors.casefile import CaseFile
from detectors.cross_sector import person_pseudonym
from detectors.persons import MAX_ENTRIES, PersonFile
from detectors.policy import load_policy
from detectors.state import SubjectState
from pipeline import persons
from pipeline.context import StepContext
from pipeline.measures import person_measures_answer
from pipeline.subject import step
from tests.factories import DAY, OTHER_SUBJECT, SUBJECT, T0, enforcement, role
from topics.decode import InputRecord
from topics.internal import ListingFact, PersonFact, decode_person_fact, encode_person_fact
from topics.persons import PersonCreditRecord
from topics.workflow import WorkflowNotice

KEY = b"a test key of at least thirty-two characters"
CONTEXT = StepContext(load_policy(), KEY)
ZHANG = "LR000000001"
LI = "LR000000002"


def wire(record: PersonCreditRecord) -> dict[str, Any]:
    """The record as risk.person-records (and the record store) carries it."""
    return dict(orjson.loads(record.dumps()))


def pseudonym(person_id: str) -> str:
    return person_pseudonym(person_id, KEY)


class City:
    """Subjects' steps and people's records, fed the way the agents are."""

    def __init__(self, context: StepContext = CONTEXT) -> None:
        self.context = context
        self.states: dict[str, SubjectState] = {}
        self.cases: dict[str, CaseFile] = {}
        self.files: dict[str, PersonFile] = {}
        self.published: dict[str, PersonCreditRecord] = {}
        self.facts: list[tuple[str, PersonFact]] = []

    def feed(self, *records: InputRecord) -> list[WorkflowNotice]:
        """Run the records through their subjects' steps; the notices they gave."""
        notices: list[WorkflowNotice] = []
        for record in records:
            subject = record.subject
            state, case, outputs = step(
                self.states.get(subject), self.cases.get(subject), record, self.context
            )
            self.states[subject] = state
            if case is not None:
                self.cases[subject] = case
            for decided in outputs.casework:
                notices += decided.notices
                for person, fact in decided.person_facts:
                    self.deliver(person, fact)
        return notices

    def deliver(self, person: str, fact: PersonFact) -> None:
        fact = decode_person_fact(encode_person_fact(fact))  # as it crosses the topic
        self.facts.append((person, fact))
        file, records = persons.step(self.files.get(person), fact, self.context)
        self.files[person] = file
        for record in records:
            self.published[person] = record

    def record_of(self, person_id: str) -> PersonCreditRecord:
        return self.published[pseudonym(person_id)]


def court_ruling(subject: str = SUBJECT, days: float = 0, **fields: Any) -> InputRecord:
    return enforcement(
        subject=subject,
        kind="court_dishonest_debtor",
        department="court",
        occurred_at=T0 + timedelta(days=days),
        **fields,
    )


def test_a_listing_reaches_the_people_who_held_a_role_then() -> None:
    city = City()
    ruling = court_ruling(days=1)
    city.feed(
        role(person_id=ZHANG, role="legal_representative", person_name="张三"),
        role(person_id=LI, role="actual_controller"),
        ruling,
    )
    record = city.record_of(ZHANG)
    assert (record.person, record.person_id, record.person_name) == (
        pseudonym(ZHANG),
        ZHANG,
        "张三",
    )
    lists = {(e.subject, e.list, tuple(e.roles), e.active) for e in record.entries}
    assert lists == {
        (SUBJECT, "joint_punishment", ("legal_representative",), True),
        (SUBJECT, "market_ban", ("legal_representative",), True),
    }
    joint = next(e for e in record.entries if e.list == "joint_punishment")
    assert {m.code for m in joint.measures} == {"no_officer_posts", "no_luxury_spending"}
    # What it rests on, labelled and explained in each language, as an alert's evidence.
    day = CONTEXT.policy.supervision.calendar.iso_date(ruling.occurred_at.timestamp())
    assert [(e.fact, e.label_zh, e.label, e.detail_zh, e.detail) for e in joint.basis] == [
        (
            "court_dishonest_debtor",
            "失信被执行人",
            "Court dishonest debtor",
            f"{day} 法院，事件 {ruling.event_id}",
            f"event {ruling.event_id} on {day} by court",
        )
    ]
    assert {e.list for e in city.record_of(LI).entries} == {"joint_punishment", "market_ban"}


def test_a_role_that_ended_before_the_listing_does_not_count() -> None:
    city = City()
    city.feed(
        role(person_id=ZHANG, held_from=T0 - 400 * DAY, held_until=T0 - 10 * DAY),
        role(person_id=LI, held_from=T0 - 10 * DAY),
        court_ruling(days=1),
    )
    assert city.record_of(ZHANG).entries == []
    assert len(city.record_of(ZHANG).roles) == 1  # the role is on their record all the same
    assert {e.list for e in city.record_of(LI).entries} == {"joint_punishment", "market_ban"}


def test_a_person_with_roles_in_two_subjects_carries_both_listings() -> None:
    city = City()
    city.feed(
        role(subject=SUBJECT, person_id=ZHANG),
        role(subject=OTHER_SUBJECT, person_id=ZHANG, role="actual_controller", sector="finance"),
        court_ruling(SUBJECT, days=1),
        court_ruling(OTHER_SUBJECT, days=2, sector="finance"),
    )
    record = city.record_of(ZHANG)
    assert {r.subject for r in record.roles} == {SUBJECT, OTHER_SUBJECT}
    assert {(e.subject, e.list) for e in record.entries} == {
        (SUBJECT, "joint_punishment"),
        (SUBJECT, "market_ban"),  # food and drugs: refusing a ruling there bans
        (OTHER_SUBJECT, "joint_punishment"),  # finance: no ban
    }
    answer = person_measures_answer(wire(record), "officer_appointment", T0 + 3 * DAY)
    assert answer["restricted"]
    assert {(m["subject"], m["code"]) for m in answer["measures"]} == {
        (SUBJECT, "no_officer_posts"),
        (SUBJECT, "market_ban"),
        (OTHER_SUBJECT, "no_officer_posts"),
    }


def test_a_role_registered_after_the_listing_still_brings_it_and_a_correction_takes_it_back() -> (
    None
):
    city = City()
    city.feed(court_ruling(days=1))
    late = role(person_id=ZHANG, recorded_at=T0 + 5 * DAY)
    city.feed(late)
    assert {e.list for e in city.record_of(ZHANG).entries} == {"joint_punishment", "market_ban"}
    # The register corrects the dates: the role began after the ruling.
    city.feed(
        role(
            event_id=late.event_id + "-fix",
            person_id=ZHANG,
            held_from=T0 - 365 * DAY,
            held_until=T0,
            recorded_at=T0 + 6 * DAY,
        )
    )
    # Same start, ended the day before the listing: the listings no longer reach them.
    assert city.record_of(ZHANG).entries == []


def test_a_permanent_ban_reaches_the_responsible_person_without_end() -> None:
    city = City()
    city.feed(
        role(person_id=ZHANG),
        enforcement(severity="serious", major_loss=True, occurred_at=T0 + DAY),
    )
    record = city.record_of(ZHANG)
    (ban,) = [e for e in record.entries if e.list == "market_ban"]
    assert ban.expires_at is None and ban.active
    ten_years = T0 + timedelta(days=3650)
    answer = person_measures_answer(wire(record), "market_entry", ten_years)
    assert [m["code"] for m in answer["measures"]] == ["market_ban"]
    assert answer["measures"][0]["listed_until"] is None


def test_an_exit_ends_the_person_s_measures_but_stays_on_their_record() -> None:
    city = City()
    penalty = enforcement(severity="serious", occurred_at=T0 + DAY)  # food: joint punishment
    city.feed(role(person_id=ZHANG), penalty)
    assert {e.list for e in city.record_of(ZHANG).entries} == {"joint_punishment"}
    city.feed(
        enforcement(
            kind="objection_filed", concerns_event_id=penalty.event_id, occurred_at=T0 + 2 * DAY
        ),
        enforcement(
            kind="objection_decided",
            concerns_event_id=penalty.event_id,
            outcome="upheld",
            occurred_at=T0 + 9 * DAY,
        ),
    )
    (entry,) = city.record_of(ZHANG).entries
    assert (entry.active, entry.exit_reason, entry.version) == (False, "objection_upheld", 2)
    ended = wire(city.record_of(ZHANG))
    assert not person_measures_answer(ended, None, T0 + 10 * DAY)["restricted"]


def test_a_redelivered_or_older_fact_changes_nothing() -> None:
    city = City()
    city.feed(role(person_id=ZHANG), court_ruling(days=1))
    before = city.record_of(ZHANG)
    for person, fact in list(city.facts):
        if person == pseudonym(ZHANG):
            _, records = persons.step(city.files[person], fact, CONTEXT)
            assert records == []
    assert city.record_of(ZHANG) == before


def test_the_key_attention_list_does_not_reach_people() -> None:
    city = City()
    city.feed(role(person_id=ZHANG), enforcement(severity="serious", sector="finance"))
    assert city.cases[SUBJECT].listings["key_attention"].active
    assert city.record_of(ZHANG).entries == []


def test_the_subject_s_profile_names_its_people_by_pseudonym_only() -> None:
    from pipeline.supervision import case_view

    city = City()
    city.feed(role(person_id=ZHANG, person_name="张三"))
    view = case_view(city.cases[SUBJECT], CONTEXT.policy)
    assert [(r["person"], r["role"], r["held_until"]) for r in view["roles"]] == [
        (pseudonym(ZHANG), "legal_representative", None)
    ]
    assert ZHANG not in str(view) and "张三" not in str(view)


def test_a_legal_representative_s_role_record_links_the_subject_for_cross_sector_warnings() -> None:
    city = City()
    city.feed(role(person_id=ZHANG))
    assert city.states[SUBJECT].legal_rep_id == ZHANG
    city.feed(role(subject=OTHER_SUBJECT, person_id=LI, role="actual_controller"))
    assert city.states[OTHER_SUBJECT].legal_rep_id is None


def test_a_person_file_is_bounded_and_round_trips() -> None:
    file = PersonFile()
    for serial in range(MAX_ENTRIES + 10):
        fact = ListingFact(
            "p", f"S{serial}", "legal_representative", "joint_punishment", 1, serial % 2 == 0,
            float(serial), None, None, None, (), "130102", "food_drug", float(serial),
        )  # fmt: skip
        assert file.learn_listing(fact)
    assert len(file.entries) == MAX_ENTRIES
    # The oldest inactive entries went first: every active one is kept.
    kept = {entry.subject for entry in file.entries.values()}
    assert {f"S{serial}" for serial in range(0, MAX_ENTRIES + 10, 2)} <= kept
    assert not {f"S{serial}" for serial in range(1, 20, 2)} & kept
    assert PersonFile.from_bytes(file.to_bytes()) == file


@pytest.mark.parametrize("subject_type", ["state_owned", "individual_business"])
def test_a_role_record_gives_the_subject_its_type(subject_type: str) -> None:
    city = City()
    city.feed(role(person_id=ZHANG, subject_type=subject_type))
    assert city.cases[SUBJECT].subject_type == subject_type
    assert city.states[SUBJECT].subject_type == subject_type
    assert city.record_of(ZHANG).roles[0].subject_type == subject_type
