"""An inspector cannot recover a legal representative's id from what they are served.

Issue 20, item 3, in miniature: a cross-sector alert named its linkage group
``cross_sector:rep:<blake2b-64 of the id>`` with no key, and the subject's
profile showed the id as ``LR*****358``, five of its eleven characters. An
inspector hashed the million ids the mask left open and found the one that
gave the alert's pseudonym in seconds. Here the same attacker gets the alert
and the profile exactly as the API serves them to an inspector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import orjson

from detectors.policy import load_policy
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.subject import process
from streams.agents.cross_sector import handle_candidate, handle_linkage_message
from streams.http.access import MASK, Principal, present_alert, present_profile
from streams.serving.view import profile_of
from tests.factories import DAY, REGION, T0, enforcement, make_uscc, pseudonym_key
from topics.access import Role
from topics.internal import encode_cross_sector_candidate
from topics.risk import to_json_dict

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
REP = "LR004271358"  # the simulator's format: LR and nine digits
SISTER, COUSIN = make_uscc(730), make_uscc(731)
INSPECTOR = Principal("inspector-changan", Role.INSPECTOR, frozenset({REGION}))


def served_to_inspector() -> tuple[dict[str, object], dict[str, object]]:
    """The cross-sector alert on two subjects of REP, and one subject's profile, as served."""
    records = [
        enforcement(subject=SISTER, event_id="pen-730", legal_rep_id=REP),
        enforcement(
            subject=COUSIN,
            event_id="tax-731",
            kind="tax_violation",
            severity=None,
            department="taxation",
            legal_rep_id=REP,
            occurred_at=T0 + 2 * DAY,
        ),
    ]
    states: dict[str, SubjectState] = {}
    linked, raised = None, []
    for record in records:
        states[record.subject], out = process(states.get(record.subject), record, CONTEXT)
        assert out.adverse_report is not None
        linked, found = handle_linkage_message(CONTEXT, linked, orjson.dumps(out.adverse_report))
        raised += found
    (candidate,) = raised  # the linkage group's hop; its sector's hop raises the alert
    _, (alert,) = handle_candidate(CONTEXT, None, encode_cross_sector_candidate(candidate))
    profile = orjson.loads(profile_of(SISTER.encode(), states[SISTER], None, POLICY))
    return present_alert(to_json_dict(alert), INSPECTOR), present_profile(profile, INSPECTOR)


def unkeyed_pseudonym(rep_id: str) -> str:
    """What anyone could compute before: the group name had no secret in it."""
    return "rep:" + hashlib.blake2b(rep_id.encode(), digest_size=8).hexdigest()


def candidates_left_by(head: str, tail: str, hidden: int) -> Iterator[str]:
    """Every id of the simulator's format with ``hidden`` unknown digits between the two ends."""
    for n in range(10**hidden):
        yield f"{head}{n:0{hidden}d}{tail}"


def test_the_alert_confirms_no_guess_at_the_representative() -> None:
    alert, _ = served_to_inspector()
    group = str(alert["dedup_key"]).removeprefix("cross_sector:")
    assert group.startswith("rep:")
    # The attacker is granted the most any output ever showed (the old mask's
    # "LR" and "358"): a million candidates, the true id among them.
    found = [c for c in candidates_left_by("LR", "358", 6) if unkeyed_pseudonym(c) == group]
    assert found == []
    assert REP not in orjson.dumps(alert).decode()


def test_a_masked_id_shows_too_little_of_itself_to_narrow_a_search() -> None:
    _, profile = served_to_inspector()
    masked = str(profile["legal_rep_id"])
    assert masked != REP and MASK in masked
    shown = len(masked) - len(MASK)
    assert shown <= len(REP) // 4, f"{masked!r} shows {shown} of {len(REP)} characters"
