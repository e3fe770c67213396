"""``creditwatch token``: arguments are checked before anything is created, with exit code 2."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from creditwatch.cli import main
from creditwatch.commands.token import UsageError, build_token, find_active, scope_text
from streams.http.access import token_hash
from topics.access import AccessToken, Role

# Nothing listens here: a test that reached the broker would fail, not hang.
NO_BROKER = ["--bootstrap", "127.0.0.1:9", "--redis", "redis://127.0.0.1:9/0"]


def create(*args: str) -> list[str]:
    return ["token", "create", *args, *NO_BROKER]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "wang", "--role", "inspector"], "at least one --county"),
        (["--name", "wang", "--role", "inspector", "--county", "999999"], "unknown county"),
        (
            ["--name", "wang", "--role", "inspector", "--county", "130102", "--sector", "toys"],
            "unknown sector",
        ),
        (["--name", "hq", "--role", "centre", "--county", "130102"], "only inspectors"),
        (["--name", "tax", "--role", "department", "--sector", "finance"], "only inspectors"),
        (["--name", "cli:root", "--role", "centre"], "may not start with"),
        (["--name", "two words", "--role", "centre"], "without spaces"),
        # Issue 18: a subject token names its USCC, an association token its id; no other does.
        (["--name", "self", "--role", "subject"], "names its --uscc"),
        (["--name", "self", "--role", "subject", "--uscc", "91130100MA0000001X"], "valid USCC"),
        (["--name", "hq", "--role", "centre", "--uscc", "91130100MA00000012"], "names its --uscc"),
        (["--name", "assoc", "--role", "association"], "names its --association"),
        (["--name", "a", "--role", "association", "--association", "a b"], "letters, digits"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(create(*args)) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert out == ""  # no token printed


def test_an_unknown_role_is_an_argparse_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(create("--name", "x", "--role", "admin"))
    assert exit_info.value.code == 2


def test_revoke_needs_a_name_or_a_hash() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "revoke", *NO_BROKER])
    assert exit_info.value.code == 2


def test_an_unreachable_broker_creates_nothing_and_shows_no_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(create("--name", "hq", "--role", "centre")) == 1
    out, err = capsys.readouterr()
    assert out == "" and "no Kafka broker reachable" in err


def args(role: str, counties: list[str], sectors: list[str] | None = None) -> argparse.Namespace:
    return argparse.Namespace(name="wang", role=role, counties=counties, sectors=sectors or [])


def test_a_token_record_holds_the_hash_never_the_token() -> None:
    raw, record = build_token(args("inspector", ["130104", "130102", "130102"]), datetime.now(UTC))
    assert record.token_hash == token_hash(raw)
    assert raw not in record.dumps().decode()
    assert record.counties == ["130102", "130104"]
    assert scope_text(record) == "130102,130104 / all sectors"


def token(name: str, hash_char: str, revoked: bool = False) -> AccessToken:
    return AccessToken(
        token_hash=hash_char * 64,
        name=name,
        role=Role.CENTRE,
        counties=[],
        sectors=[],
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        revoked_at=datetime(2024, 6, 1, tzinfo=UTC) if revoked else None,
    )


def test_revoke_finds_one_active_token_by_name_or_hash_prefix() -> None:
    tokens = [token("hq", "a", revoked=True), token("hq", "b"), token("ops", "c")]
    assert find_active(tokens, "hq", None).token_hash == "b" * 64
    assert find_active(tokens, None, "CCCCCCCC").name == "ops"
    with pytest.raises(UsageError, match="no active token named 'nobody'"):
        find_active(tokens, "nobody", None)
    with pytest.raises(UsageError, match="no active token with hash aaaa"):
        find_active(tokens, None, "aaaaaaaa")  # revoked already
    with pytest.raises(UsageError, match="at least 8"):
        find_active(tokens, None, "bbb")


def test_build_token_rejects_unknown_counties() -> None:
    with pytest.raises(UsageError, match="unknown county"):
        build_token(args("inspector", ["130100"]), datetime.now(UTC))


def test_subject_and_association_tokens_carry_their_scope() -> None:
    own = argparse.Namespace(
        name="self", role="subject", counties=[], sectors=[], uscc="91130100ma00000012"
    )
    _, record = build_token(own, datetime.now(UTC))
    assert (record.subject, record.association) == ("91130100MA00000012", None)
    assert scope_text(record) == "subject 91130100MA00000012"
    member = argparse.Namespace(
        name="assoc", role="association", counties=[], sectors=[], association="food-assoc"
    )
    _, record = build_token(member, datetime.now(UTC))
    assert scope_text(record) == "association food-assoc"
