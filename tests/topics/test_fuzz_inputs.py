"""Property-based fuzzing of every input contract (hypothesis).

Whatever arrives on an input topic, decoding never raises: it yields either a
record that honours the contract, which the per-subject logic processes
without error, or a rejection with one of the documented reason codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from detectors.policy import load_policy
from pipeline.context import StepContext
from pipeline.subject import process
from tests.factories import DATA_OF_TOPIC, IOT_TOPIC, pseudonym_key
from topics.decode import PARSERS, Rejected, decode_input
from topics.validation import Reason

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
REASONS = {reason.value for reason in Reason}
CASES = settings(max_examples=2000, deadline=None)
TOPICS = st.sampled_from(sorted(PARSERS))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def check(topic: str, key: bytes | None, value: bytes | None) -> None:
    outcome = decode_input(topic, key, value)
    if isinstance(outcome, Rejected):
        assert outcome.reason in REASONS and outcome.detail
        return
    assert uscc.is_valid(outcome.subject)
    assert key is not None and key.decode().strip().upper() == outcome.subject
    for name in ("occurred_at", "received_at", "measured_at", "deadline"):
        moment = getattr(outcome, name, None)
        assert moment is None or (isinstance(moment, datetime) and moment.tzinfo is not None)
    state, outputs = process(None, outcome, CONTEXT)
    assert state.events == 1 and not outputs.duplicate


@CASES
@given(topic=TOPICS, key=st.none() | st.binary(max_size=30), value=st.none() | st.binary())
def test_arbitrary_bytes_are_decoded_or_rejected_with_a_reason(topic, key, value):
    check(topic, key, value)


@CASES
@given(topic=TOPICS, value=json_values)
def test_arbitrary_json_is_decoded_or_rejected_with_a_reason(topic, value):
    check(topic, b"91130102000000001X", orjson.dumps(value))


@st.composite
def near_valid(draw: st.DrawFn, topic: str) -> tuple[str, bytes, bytes]:
    """A valid record of ``topic`` with a few fields removed, retyped or added."""
    data: dict[str, Any] = DATA_OF_TOPIC[topic]()
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(sorted(data)) | st.text(min_size=1, max_size=10))
        action = draw(st.sampled_from(["drop", "replace", "keep"]))
        if action == "drop":
            data.pop(field, None)
        elif action == "replace":
            data[field] = draw(json_values)
    key = data.get("subject") if isinstance(data.get("subject"), str) else "none"
    if draw(st.booleans()) and topic != IOT_TOPIC:
        key = draw(st.text(max_size=20))
    return topic, key.encode(), orjson.dumps(data)


@pytest.mark.parametrize("topic", sorted(PARSERS))
def test_near_valid_records_are_decoded_or_rejected_with_a_reason(topic):
    @CASES  # 2,000 cases for each input topic
    @given(case=near_valid(topic))
    def near_valid_case(case: tuple[str, bytes, bytes]) -> None:
        check(*case)

    near_valid_case()


@settings(max_examples=300, deadline=None)
@given(topic=TOPICS)
def test_unmodified_records_of_every_topic_are_accepted_and_processed(topic):
    data = DATA_OF_TOPIC[topic]()
    outcome = decode_input(topic, data["subject"].encode(), orjson.dumps(data))
    assert not isinstance(outcome, Rejected), outcome
    check(topic, data["subject"].encode(), orjson.dumps(data))
