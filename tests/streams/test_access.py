"""Roles and scope, masking, bearer tokens: the rules every API answer is checked against."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.http.access import (
    Forbidden,
    Principal,
    Unauthenticated,
    authenticate,
    bearer_token,
    mask_personal,
    mask_value,
    new_token,
    present_profile,
    require,
    token_hash,
)
from streams.http.access_keys import TOKENS
from topics.access import AccessToken, Role
from topics.vocabulary import Sector

CHANGAN, QIAOXI, ZHENGDING = "130102", "130104", "130123"

centre = Principal("centre-1", Role.CENTRE)
inspector = Principal("wang", Role.INSPECTOR, frozenset({CHANGAN}))
food_inspector = Principal("li", Role.INSPECTOR, frozenset({CHANGAN}), frozenset({"food_drug"}))
department = Principal("tax-bureau", Role.DEPARTMENT)


def alert(region: str = CHANGAN, sector: str = "food_drug", **fields: Any) -> dict[str, Any]:
    return {
        "alert_id": "a1",
        "subject": "91130102MA0000000X",
        "region": region,
        "sector": sector,
        "evidence": [{"fact": "penalties_90d", "value": 3.0}],
        **fields,
    }


def city_wide_alert(*counties: str, sector: str = "food_drug") -> dict[str, Any]:
    facts = [{"fact": "counties", "value": len(counties)}]
    facts += [{"fact": f"county {c}", "value": 9.0, "detail": "…"} for c in counties]
    return alert(region="130100", sector=sector, subject=None, evidence=facts)


def test_centre_reads_and_acts_on_every_alert() -> None:
    for doc in (alert(), alert(region=ZHENGDING), city_wide_alert(QIAOXI)):
        assert centre.may_read_alert(doc)
        assert centre.may_act_on_alerts(doc)


def test_inspector_reads_only_alerts_of_own_counties() -> None:
    assert inspector.may_read_alert(alert(region=CHANGAN))
    assert not inspector.may_read_alert(alert(region=QIAOXI))  # another county: 403
    assert inspector.may_act_on_alerts(alert(region=CHANGAN))
    assert not inspector.may_act_on_alerts(alert(region=QIAOXI))


def test_inspector_with_sectors_reads_only_those_sectors() -> None:
    assert food_inspector.may_read_alert(alert(sector="food_drug"))
    assert not food_inspector.may_read_alert(alert(sector="finance"))
    assert inspector.may_read_alert(alert(sector="finance"))  # no sectors: all of them


def test_inspector_sees_a_city_wide_alert_only_when_it_names_their_county() -> None:
    assert inspector.may_read_alert(city_wide_alert(QIAOXI, CHANGAN))
    assert not inspector.may_read_alert(city_wide_alert(QIAOXI, ZHENGDING))
    assert not food_inspector.may_read_alert(city_wide_alert(CHANGAN, sector="finance"))


def test_inspector_may_not_close_a_city_wide_alert() -> None:
    doc = city_wide_alert(CHANGAN, QIAOXI)
    assert inspector.may_read_alert(doc)
    assert not inspector.may_act_on_alerts(doc)


def test_department_reads_no_alerts_and_changes_nothing() -> None:
    assert not department.may_read_alert(alert())
    assert not department.may_act_on_alerts(alert())
    assert not department.may_manage_silences()
    assert department.may_read_tiers_lists_measures()


def test_only_a_centre_manages_silences() -> None:
    assert centre.may_manage_silences()
    assert not inspector.may_manage_silences()


def test_subject_and_tier_change_scope() -> None:
    profile = {"subject": "X", "region": QIAOXI, "sector": "finance", "tier": "C"}
    assert centre.may_read_subject(profile)
    assert department.may_read_subject(profile)
    assert not inspector.may_read_subject(profile)
    assert inspector.may_read_tier_change({**profile, "region": CHANGAN})
    assert not food_inspector.may_read_tier_change({**profile, "region": CHANGAN})


def test_require_raises_forbidden_with_the_reason() -> None:
    require(True, "fine")
    with pytest.raises(Forbidden, match="another county"):
        require(inspector.may_read_alert(alert(region=QIAOXI)), "alert of another county")
    assert Forbidden.status == 403 and Unauthenticated.status == 401


def test_personal_data_is_masked_for_inspectors_and_departments_only() -> None:
    doc = {
        "subject": "91130102MA0000000X",
        "legal_rep_id": "LR0001234789",
        "contacts": [{"phone": "13812345678", "role": "manager"}],
    }
    for principal in (inspector, department):
        masked = mask_personal(doc, principal)
        assert masked["legal_rep_id"] == "L*****9"
        assert masked["contacts"][0] == {"phone": "1*****8", "role": "manager"}
        assert masked["subject"] == doc["subject"]
    assert mask_personal(doc, centre) == doc
    assert doc["legal_rep_id"] == "LR0001234789"  # the original is untouched


def test_masking_hides_short_values_and_keeps_nulls() -> None:
    assert mask_value("1234567") == "*****"
    assert mask_value(None) is None


def test_department_gets_the_tier_of_a_subject_not_its_record() -> None:
    profile = {
        "subject": "X",
        "tier": "C",
        "score": 61.0,
        "region": CHANGAN,
        "sector": "finance",
        "legal_rep_id": "LR0001234789",
        "contributions": [{"fact": "penalty", "points": 20}],
        "complaints_30d": 4,
    }
    shown = present_profile(profile, department)
    assert shown == {
        "subject": "X",
        "tier": "C",
        "score": 61.0,
        "region": CHANGAN,
        "sector": "finance",
    }
    assert present_profile(profile, inspector)["legal_rep_id"] == "L*****9"
    assert present_profile(profile, centre) == profile


def test_tokens_are_random_and_hashed_with_sha256() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 43
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert token_hash(first) != first


@pytest.mark.parametrize("header", [None, "", "   ", "Basic abc", "Bearer", "Bearer a b"])
def test_a_missing_or_malformed_header_is_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token("bearer  tok-123 ") == "tok-123"


class FakeRedis:
    """The one call authenticate makes: HGET on the tokens hash."""

    def __init__(self, stored: dict[str, bytes]) -> None:
        self.stored = stored

    async def hget(self, key: str, field: str) -> bytes | None:
        assert key == TOKENS
        return self.stored.get(field)


def stored(raw: str, revoked: bool = False, role: Role = Role.INSPECTOR) -> dict[str, bytes]:
    record = AccessToken(
        token_hash=token_hash(raw),
        name="wang",
        role=role,
        counties=[CHANGAN],
        sectors=[Sector.FOOD_DRUG],
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        revoked_at=datetime(2024, 6, 1, tzinfo=UTC) if revoked else None,
    )
    return {record.token_hash: record.dumps()}


def test_a_known_token_authenticates_as_its_principal() -> None:
    raw = new_token()
    principal = asyncio.run(authenticate(f"Bearer {raw}", FakeRedis(stored(raw))))
    assert principal == Principal(
        "wang", Role.INSPECTOR, frozenset({CHANGAN}), frozenset({"food_drug"})
    )


@pytest.mark.parametrize(
    ("redis_content", "message"),
    [({}, "unknown token"), ("revoked", "token revoked"), ("garbage", "unknown token")],
)
def test_unknown_revoked_or_unreadable_tokens_are_rejected(
    redis_content: Any, message: str
) -> None:
    raw = new_token()
    if redis_content == "revoked":
        redis_content = stored(raw, revoked=True)
    elif redis_content == "garbage":
        redis_content = {token_hash(raw): b'{"role": "centre"}'}
    with pytest.raises(Unauthenticated, match=message):
        asyncio.run(authenticate(f"Bearer {raw}", FakeRedis(redis_content)))


def test_a_person_s_id_and_name_are_masked_wherever_they_are_but_for_the_centre() -> None:
    record = {
        "person": "3f" * 16,
        "person_id": "P-ZHANG-0001",
        "person_name": "张明",
        "entries": [{"subject": "X", "roles": ["legal_representative"]}],
    }
    for reader in (inspector, department):
        shown = mask_personal(record, reader)
        assert (shown["person_id"], shown["person_name"]) == ("P*****1", "*****")
        assert shown["person"] == record["person"]  # the keyed pseudonym is not masked
    assert mask_personal(record, centre) == record
