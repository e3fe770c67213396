"""``risk.access-tokens`` records: what a token may be, and strict decoding."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from topics.access import AccessToken, Role, parse_access_token, scope_errors
from topics.validation import InvalidRecord
from topics.vocabulary import Sector


def record(**changes: object) -> AccessToken:
    fields: dict[str, object] = {
        "token_hash": "ab" * 32,
        "name": "wang",
        "role": Role.INSPECTOR,
        "counties": ["130102"],
        "sectors": [Sector.FOOD_DRUG],
        "created_at": datetime(2024, 5, 1, tzinfo=UTC),
    }
    return AccessToken(**{**fields, **changes})


def test_a_token_record_round_trips() -> None:
    token = parse_access_token(record().dumps())
    assert token.role is Role.INSPECTOR and token.sectors == [Sector.FOOD_DRUG]
    assert not token.revoked
    revoked = parse_access_token(record(revoked_at=datetime(2024, 6, 1, tzinfo=UTC)).dumps())
    assert revoked.revoked


@pytest.mark.parametrize(
    "changes",
    [
        {"token_hash": "raw-token-not-a-hash"},
        {"role": "admin"},
        {"sectors": ["toys"]},
        {"counties": "130102"},
        {"created_at": "2024-05-01T00:00:00"},  # naive
    ],
)
def test_an_unreadable_token_record_is_rejected(changes: dict[str, object]) -> None:
    document = {**orjson.loads(record().dumps()), **changes}
    with pytest.raises(InvalidRecord):
        parse_access_token(orjson.dumps(document))


def test_scope_rules() -> None:
    assert scope_errors(Role.INSPECTOR, ["130102"], ["finance"]) == []
    assert scope_errors(Role.CENTRE, [], []) == []
    assert scope_errors(Role.INSPECTOR, [], []) == [
        "an inspector token needs at least one --county"
    ]
    assert len(scope_errors(Role.DEPARTMENT, ["130102"], [])) == 1
