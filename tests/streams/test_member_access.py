"""Issue 18: what an association and a subject may see and file (scope decisions)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from streams.http.access import Principal, authenticate, new_token, present_profile, token_hash
from streams.http.access_keys import TOKENS, members
from streams.http.self_service import association_record, association_refusal, filing_record
from streams.serving.registers import apply_membership, forget_membership
from tests.factories import make_uscc
from topics.access import AccessToken, Role, parse_access_token, scope_errors
from topics.enforcement import parse_enforcement
from topics.memberships import Membership, parse_membership
from topics.registrations import RegistrationStatus, decision_request
from topics.validation import InvalidRecord
from topics.vocabulary import EnforcementKind

MEMBER, FORMER, OTHER = make_uscc(7001), make_uscc(7002), make_uscc(7003)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def membership(subject: str, since: datetime, until: datetime | None = None) -> Membership:
    return Membership(
        event_id=f"m-{subject}",
        association="food-assoc",
        subject=subject,
        member_from=since,
        recorded_at=since,
        member_until=until,
    )


association = Principal(
    "food-assoc-token",
    Role.ASSOCIATION,
    association="food-assoc",
    memberships={
        MEMBER: membership(MEMBER, at(2025, 1, 1)),
        FORMER: membership(FORMER, at(2025, 1, 1), until=at(2026, 5, 1)),
    },
)
subject = Principal("self-7001", Role.SUBJECT, subject=MEMBER)


def change(who: str, effective: datetime) -> dict[str, Any]:
    return {
        "subject": who,
        "region": "130102",
        "sector": "food_drug",
        "effective_at": effective.isoformat(),
        "tier": "C",
    }


def test_an_association_sees_a_member_s_changes_made_while_it_was_a_member() -> None:
    assert association.may_read_tier_change(change(MEMBER, at(2026, 3, 1)))
    assert association.may_read_tier_change(change(FORMER, at(2026, 4, 30, 23)))


def test_an_expired_membership_shows_nothing_after_it_ended_nor_before_it_began() -> None:
    assert not association.may_read_tier_change(change(FORMER, at(2026, 5, 1)))  # until: exclusive
    assert not association.may_read_tier_change(change(MEMBER, at(2024, 12, 31)))
    assert not association.may_read_subject({"subject": FORMER}, at(2026, 6, 1))


def test_an_association_never_sees_a_non_member() -> None:
    assert not association.may_read_tier_change(change(OTHER, at(2026, 3, 1)))
    assert not association.may_read_subject({"subject": OTHER}, at(2026, 3, 1))
    assert not association.may_read_subject({"region": "130102"}, at(2026, 3, 1))  # no subject


def test_a_list_change_counts_from_its_exit_else_its_entry() -> None:
    entry = {"subject": FORMER, "entered_at": "2026-04-20T02:00:00+00:00", "exited_at": None}
    left = {**entry, "exited_at": "2026-05-20T02:00:00+00:00"}
    assert association.may_read_tier_change(entry)
    assert not association.may_read_tier_change(left)


def test_a_subject_sees_only_itself_whatever_else_the_document_says() -> None:
    assert subject.may_read_subject({"subject": MEMBER, "region": "130102"})
    assert not subject.may_read_subject({"subject": OTHER, "region": "130102"})
    assert not subject.may_read_tier_change(change(OTHER, at(2026, 3, 1)))
    assert not Principal("x", Role.SUBJECT).may_read_subject({"subject": None})


@pytest.mark.parametrize("principal", [association, subject])
def test_neither_reads_alerts_nor_people_s_measures(principal: Principal) -> None:
    alert = {"subject": MEMBER, "region": "130102", "sector": "food_drug", "evidence": []}
    assert not principal.may_read_alerts()
    assert not principal.may_read_alert(alert)
    assert not principal.may_act_on_alerts(alert)
    assert not principal.may_read_person_measures()
    assert not principal.may_manage_silences()


def test_an_association_reads_a_member_s_tier_and_lists_not_its_file() -> None:
    profile = {
        "subject": MEMBER,
        "tier": "C",
        "score": 41.0,
        "region": "130102",
        "sector": "food_drug",
        "legal_rep_id": "LR0001234789",
        "events": [{"kind": "penalty"}],
        "supervision": {"lists": [{"list": "key_attention"}], "published_records": [{}]},
    }
    shown = present_profile(profile, association)
    assert shown["tier"] == "C" and shown["lists"] == [{"list": "key_attention"}]
    assert not {"legal_rep_id", "events", "supervision"} & set(shown)
    own = present_profile(profile, subject)  # the subject's own file, personal data masked
    assert own["supervision"] == profile["supervision"] and own["legal_rep_id"] == "L*****9"


class FakeRedis:
    def __init__(self, tokens: dict[str, bytes], register: dict[bytes, bytes]) -> None:
        self.tokens, self.register = tokens, register

    async def hget(self, key: str, field: str) -> bytes | None:
        assert key == TOKENS
        return self.tokens.get(field)

    async def hgetall(self, key: str) -> dict[bytes, bytes]:
        assert key == members("food-assoc")
        return self.register


def test_an_association_token_brings_its_register_and_skips_an_unreadable_entry() -> None:
    raw = new_token()
    token = AccessToken(
        token_hash=token_hash(raw),
        name="food-assoc-token",
        role=Role.ASSOCIATION,
        counties=[],
        sectors=[],
        created_at=at(2026, 1, 1),
        association="food-assoc",
    )
    register = {
        MEMBER.encode(): membership(MEMBER, at(2025, 1, 1)).dumps(),
        b"junk": b'{"association": "food-assoc"}',
    }
    redis = FakeRedis({token.token_hash: token.dumps()}, register)
    principal = asyncio.run(authenticate(f"Bearer {raw}", redis))
    assert principal.association == "food-assoc" and set(principal.memberships) == {MEMBER}
    assert principal.is_member(MEMBER, at(2026, 1, 1))


def test_scope_errors_tie_each_scope_to_its_role() -> None:
    assert scope_errors(Role.SUBJECT, [], [], MEMBER) == []
    assert scope_errors(Role.ASSOCIATION, [], [], None, "food-assoc") == []
    assert "names its --uscc" in scope_errors(Role.SUBJECT, [], [], None)[0]
    assert "names its --uscc" in scope_errors(Role.CENTRE, [], [], MEMBER)[0]
    assert "not a valid USCC" in scope_errors(Role.SUBJECT, [], [], MEMBER[:-1] + "0")[0]
    assert "--association" in scope_errors(Role.ASSOCIATION, [], [], None, "food|assoc")[0]
    assert "county" in scope_errors(Role.SUBJECT, ["130102"], [], MEMBER)[0]


def test_a_token_record_claiming_a_scope_its_role_may_not_hold_grants_nothing() -> None:
    base = {
        "token_hash": "a" * 64,
        "name": "x",
        "counties": [],
        "sectors": [],
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    with pytest.raises(InvalidRecord):
        parse_access_token(orjson.dumps({**base, "role": "centre", "subject": MEMBER}))
    with pytest.raises(InvalidRecord):
        parse_access_token(orjson.dumps({**base, "role": "subject"}))
    token = parse_access_token(orjson.dumps({**base, "role": "subject", "subject": MEMBER}))
    assert token.subject == MEMBER


def register_record(**fields: Any) -> dict[str, Any]:
    return {
        "event_id": "m1",
        "association": "food-assoc",
        "subject": MEMBER,
        "member_from": "2025-01-01T00:00:00+08:00",
        "recorded_at": "2025-01-02T00:00:00+08:00",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"member_until": "2024-12-31T00:00:00+08:00"}, "member_until"),
        ({"association": "food assoc"}, "association"),
        ({"subject": "91130100MA0000001X"}, "subject"),
        ({"member_from": None}, "member_from"),
    ],
)
def test_a_membership_that_breaks_its_contract_is_refused(fields: Any, field: str) -> None:
    with pytest.raises(InvalidRecord) as refused:
        parse_membership(register_record(**fields))
    assert refused.value.field == field


def test_a_membership_without_an_end_holds_from_its_start() -> None:
    found = parse_membership(register_record())
    assert found.member_at(at(2024, 12, 31, 16)) and not found.member_at(at(2024, 12, 31, 15))


def test_an_association_reports_self_discipline_commitments_and_honours_only() -> None:
    profile = {"region": "130105", "sector": "food_drug"}
    body = {
        "event_id": "e1",
        "kind": "commitment_breached",
        "commitment_kind": "industry_self_discipline",
        "occurred_at": "2026-02-10T10:00:00+08:00",
        "concerns_event_id": "food-assoc:e0",
        "department": "court",  # ignored: it is the association's record
        "region": "130102",  # ignored: the member's own place wins
    }
    record = association_record("food-assoc", MEMBER, profile, body)
    assert association_refusal(record) is None
    parsed = parse_enforcement(record)
    assert (parsed.event_id, parsed.department, parsed.region) == (
        "food-assoc:e1",
        "industry_association",
        "130105",
    )
    penalty = association_record("food-assoc", MEMBER, profile, {**body, "kind": "penalty"})
    assert "reports only" in str(association_refusal(penalty))
    approval = {**body, "commitment_kind": "approval_substitution"}
    refusal = association_refusal(association_record("food-assoc", MEMBER, profile, approval))
    assert refusal == "an association reports only industry_self_discipline commitments"
    honour = {"event_id": "h", "kind": "honour", "occurred_at": "2026-02-10T10:00:00+08:00"}
    assert association_refusal(association_record("food-assoc", MEMBER, profile, honour)) is None


def test_a_subject_s_repair_application_is_a_contract_record_from_the_window() -> None:
    profile = {"subject": MEMBER, "region": "130102", "sector": "finance"}
    raw = filing_record(
        EnforcementKind.REPAIR_APPLIED,
        MEMBER,
        profile,
        {"concerns_event_id": "p1", "subject": OTHER},  # the body cannot name another subject
        "self-service:1",
        at(2026, 6, 1),
        "self-service:self-7001",
    )
    parsed = parse_enforcement(raw)
    assert (parsed.subject, parsed.kind, parsed.department, parsed.concerns_event_id) == (
        MEMBER,
        EnforcementKind.REPAIR_APPLIED,
        "government_services",
        "p1",
    )
    without = filing_record(
        EnforcementKind.REPAIR_APPLIED, MEMBER, profile, {}, "x", at(2026, 6, 1), "r"
    )
    with pytest.raises(InvalidRecord) as refused:
        parse_enforcement(without)
    assert refused.value.field == "concerns_event_id"


def test_a_registration_is_verified_or_rejected_with_a_reason() -> None:
    assert decision_request({"decision": "verified"}) == (RegistrationStatus.VERIFIED, None)
    with pytest.raises(InvalidRecord):
        decision_request({"decision": "rejected"})  # the subject is told why
    with pytest.raises(InvalidRecord):
        decision_request({"decision": "pending"})


class FakeRegister:
    """The two calls the register's mirror makes."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, bytes]] = {}

    async def hset(self, key: str, field: str, value: bytes) -> None:
        self.hashes.setdefault(key, {})[field] = value

    async def hdel(self, key: str, field: str) -> None:
        self.hashes.get(key, {}).pop(field, None)


def test_the_register_mirror_keeps_the_latest_record_and_forgets_a_tombstone() -> None:
    client = FakeRegister()
    joined = orjson.dumps(register_record())
    left = orjson.dumps(register_record(member_until="2026-01-01T00:00:00+08:00"))
    asyncio.run(apply_membership(joined, client))
    asyncio.run(apply_membership(left, client))
    assert client.hashes[members("food-assoc")] == {MEMBER: left}
    assert not asyncio.run(forget_membership(b"not a membership key", client))
    assert asyncio.run(forget_membership(f"food-assoc|{MEMBER}".encode(), client))
    assert client.hashes[members("food-assoc")] == {}
    with pytest.raises(InvalidRecord):  # the agent dead-letters it; nothing is stored
        asyncio.run(apply_membership(orjson.dumps(register_record(subject="x")), client))
