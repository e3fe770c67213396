"""Seed 十一: public-sector subjects' violations are reported to their superiors, the audit
body, and, for their responsible people, to discipline inspection and personnel."""

from __future__ import annotations

import copy
import tomllib
from datetime import timedelta

import pytest

from detectors.policy import DEFAULT_POLICY_PATH, parse_policy
from detectors.policy_values import PolicyError
from tests.factories import SUBJECT, T0, enforcement, role
from tests.pipeline.test_persons import ZHANG, City, pseudonym
from topics.decode import InputRecord
from topics.workflow import WorkflowNotice


def notices(city: City, *records: InputRecord) -> list[WorkflowNotice]:
    return city.feed(*records)


def reports(found: list[WorkflowNotice]) -> set[tuple[str, str, str | None]]:
    kinds = ("public_sector_report", "staff_report")
    return {(n.kind, n.department, n.person) for n in found if n.kind in kinds}


def test_a_state_owned_enterprise_s_general_penalty_goes_to_its_superior_and_the_audit_body() -> (
    None
):
    city = City()
    found = notices(
        city,
        enforcement(severity="general", subject_type="state_owned", sector="finance"),
    )
    assert reports(found) == {
        ("public_sector_report", "superior_unit", None),
        ("public_sector_report", "audit", None),
    }
    report = next(n for n in found if n.department == "audit")
    assert [r.code for r in report.reasons] == ["penalty_general"]


def test_an_enterprise_s_or_a_minor_record_is_not_reported() -> None:
    assert reports(notices(City(), enforcement(severity="general"))) == set()
    minor = enforcement(severity="minor", subject_type="public_institution")
    assert reports(notices(City(), minor)) == set()


def test_a_listed_public_institution_is_reported_and_so_are_its_responsible_people() -> None:
    city = City()
    found = notices(
        city,
        role(person_id=ZHANG, subject_type="public_institution"),
        enforcement(
            kind="court_dishonest_debtor", department="court", occurred_at=T0 + timedelta(days=1)
        ),
    )
    person = pseudonym(ZHANG)
    assert reports(found) == {
        ("public_sector_report", "superior_unit", None),
        ("public_sector_report", "audit", None),
        ("staff_report", "discipline_inspection", person),
        ("staff_report", "organisation_personnel", person),
    }
    # One report of the record and one of each list entry to each body, distinct ids.
    ids = [n.notice_id for n in found if n.kind == "public_sector_report"]
    assert len(ids) == len(set(ids)) == 2 * 3  # the ruling, joint punishment, the ban
    staff = [n for n in found if n.kind == "staff_report"]
    assert {n.reasons[0].code for n in staff} == {"legal_representative"}
    day = (T0 + timedelta(days=1)).date().isoformat()
    assert {(r.detail_zh, r.detail) for n in staff for r in n.reasons} == {
        (
            f"事业单位：于 {day} 列入{zh}名单；此人时任法定代表人",
            f"public institution: entered the {en} list on {day}; "
            "the person was its legal representative then",
        )
        for zh, en in (("失信联合惩戒对象", "joint-punishment"), ("市场和行业禁入", "market-ban"))
    }
    assert ZHANG not in str([n.dumps() for n in found])  # the pseudonym only, never the id


def test_the_type_a_record_carries_sticks_to_the_subject() -> None:
    city = City()
    notices(city, enforcement(kind="honour", subject_type="state_owned"))
    later = notices(city, enforcement(severity="serious", sector="finance"))  # untyped record
    assert ("public_sector_report", "audit", None) in reports(later)
    assert city.states[SUBJECT].subject_type == "state_owned"


def test_the_policy_names_only_known_types_lists_and_departments() -> None:
    document = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    for key, value, message in (
        ("types", ["ministry"], "public_sector.types"),
        ("lists", ["blacklist"], "public_sector.lists"),
        ("notify", ["the_press"], "public_sector.notify"),
        ("notify", [], "names nobody"),
    ):
        changed = copy.deepcopy(document)
        changed["public_sector"][key] = value
        with pytest.raises(PolicyError, match=message):
            parse_policy(changed)
