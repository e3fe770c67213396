"""Dead letters (``risk.dlq``): a bad message is kept, bounded in size whatever its size."""

from __future__ import annotations

import base64
import hashlib
import json

import orjson
from jsonschema import Draft202012Validator

from topics.contract_schemas import SCHEMA_DIR
from topics.decode import MAX_RECORD_BYTES, Rejected, decode_input
from topics.risk import (
    DEAD_LETTER_COPY_MAX,
    DEAD_LETTER_DETAIL_MAX,
    DEAD_LETTER_EXCERPT,
    dead_letter,
    dead_letter_key,
)

#: What the worker's producer sends at most (Faust's ``producer_max_request_size``).
PRODUCER_LIMIT = 1_000_000


def wire(value: bytes, key: bytes | None = b"k", detail: str = "d") -> dict[str, object]:
    letter = dead_letter("complaints.12315", 3, 41, key, value, "not_json", detail)
    return dict(orjson.loads(letter.dumps()))


def test_a_small_message_is_kept_byte_for_byte_with_its_size_and_digest() -> None:
    value = b'{"event_id": "x-1", "subject": '
    letter = wire(value)
    assert base64.b64decode(str(letter["value_b64"])) == value
    assert base64.b64decode(str(letter["key_b64"])) == b"k"
    assert letter["truncated"] is False and letter["value_excerpt_b64"] is None
    assert letter["value_size"] == len(value)
    assert letter["value_sha256"] == hashlib.sha256(value).hexdigest()
    assert (letter["source_topic"], letter["partition"], letter["offset"]) == (
        "complaints.12315",
        3,
        41,
    )


def test_a_five_megabyte_message_is_kept_as_a_bounded_excerpt_and_its_digest() -> None:
    value = b"{" + b"x" * (5 * 1024 * 1024) + b"}"
    raw = dead_letter("enforcement.events", 0, 9, b"k", value, "too_large", "big").dumps()
    letter = orjson.loads(raw)
    assert len(raw) < 20_000  # a fraction of what the producer sends
    assert letter["truncated"] is True and letter["value_b64"] is None
    excerpt = base64.b64decode(letter["value_excerpt_b64"])
    assert excerpt == value[:DEAD_LETTER_EXCERPT]
    assert letter["value_size"] == len(value)
    assert letter["value_sha256"] == hashlib.sha256(value).hexdigest()
    assert base64.b64decode(letter["key_b64"]) == b"k"  # the small part is kept whole


def test_a_message_just_over_the_copy_limit_is_excerpted_and_one_at_it_is_not() -> None:
    at_limit = wire(b"x" * DEAD_LETTER_COPY_MAX)
    over = wire(b"x" * (DEAD_LETTER_COPY_MAX + 1))
    assert at_limit["truncated"] is False and at_limit["value_b64"]
    assert over["truncated"] is True and over["value_b64"] is None


def test_a_huge_key_is_excerpted_and_does_not_key_the_letter() -> None:
    key = b"k" * (2 * 1024 * 1024)
    letter = wire(b"{}", key=key)
    assert letter["truncated"] is True and letter["key_b64"] is None
    assert base64.b64decode(str(letter["key_excerpt_b64"])) == key[:DEAD_LETTER_EXCERPT]
    assert letter["key_size"] == len(key)
    assert dead_letter_key(key) is None
    assert dead_letter_key(b"91130102MA0EXAMPL1") == b"91130102MA0EXAMPL1"


def test_the_largest_letter_fits_the_producer() -> None:
    """Key and value both at the copy limit, the longest detail: still sendable."""
    part = bytes(range(256)) * (DEAD_LETTER_COPY_MAX // 256)
    raw = dead_letter("t", 0, 0, part, part, "not_json", "é" * 10 * DEAD_LETTER_DETAIL_MAX).dumps()
    assert len(raw) + len(part) < PRODUCER_LIMIT  # the letter, plus its Kafka key


def test_a_long_detail_is_cut() -> None:
    letter = wire(b"{}", detail="why " * 10_000)
    assert len(str(letter["detail"])) == DEAD_LETTER_DETAIL_MAX


def test_an_input_record_larger_than_any_valid_one_is_rejected_before_parsing() -> None:
    value = orjson.dumps({"event_id": "e", "description": "x" * MAX_RECORD_BYTES})
    rejected = decode_input("enforcement.events", b"k", value)
    assert isinstance(rejected, Rejected) and rejected.reason == "too_large"
    assert f"{len(value):,}" in rejected.detail


def test_letters_whole_and_truncated_match_the_published_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "risk.dlq.schema.json").read_text("utf-8"))
    validator = Draft202012Validator(schema)
    for letter in (wire(b"{}"), wire(b"x" * (DEAD_LETTER_COPY_MAX + 1), key=None)):
        assert not list(validator.iter_errors(letter))
    output = orjson.loads(
        dead_letter("risk.alerts", None, None, b"k", b"x", "output_too_large", "d").dumps()
    )
    assert not list(validator.iter_errors(output))
