"""Per-subject state: decay in event time, dedup memory, encoding, and its bounds."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from pathlib import Path

import pytest

from detectors.casefile import Listing
from detectors.policy import Policy, load_policy
from detectors.scoring import complaints_30d, iot_exceedances_24h, score_subject
from detectors.state import STATE_WORDS, CreditMark, Observation, SubjectState
from detectors.windows import DAY_S, HOUR_S
from tests.factories import T0_S, observation
from topics.lists import ExitReason
from topics.vocabulary import ComplaintCategory, Department, Sector, SubjectType, Tier

DATA = Path(__file__).parent / "data"
POLICY = load_policy()
GENERAL = POLICY.signals["penalty_general"]
HALF_LIFE = GENERAL.half_life_s


def applied(*observations: Observation, policy: Policy = POLICY) -> SubjectState:
    state = SubjectState()
    for obs in observations:
        state.apply(obs, policy)
    return state


# --- decay ---------------------------------------------------------------------


def test_a_signal_halves_after_one_half_life() -> None:
    state = applied(observation(T0_S, signal="penalty_general"))
    assert state.signals["penalty_general"] == 1.0
    state.advance(T0_S + HALF_LIFE, POLICY)
    assert state.signals["penalty_general"] == pytest.approx(0.5)
    state.advance(T0_S + 2 * HALF_LIFE, POLICY)
    assert state.signals["penalty_general"] == pytest.approx(0.25)


def test_each_signal_fades_with_its_own_half_life() -> None:
    minor = POLICY.signals["penalty_minor"]
    assert minor.half_life_s < HALF_LIFE
    state = applied(
        observation(T0_S, signal="penalty_general"),
        observation(T0_S, signal="penalty_minor"),
    )
    state.advance(T0_S + minor.half_life_s, POLICY)
    assert state.signals["penalty_minor"] == pytest.approx(0.5)
    assert state.signals["penalty_general"] > 0.5


def test_a_late_event_adds_a_faded_contribution() -> None:
    now = T0_S + HALF_LIFE
    state = applied(
        observation(now, signal="penalty_general"),
        observation(T0_S, signal="penalty_general"),  # arrives one half-life late
    )
    assert state.signals["penalty_general"] == pytest.approx(1.5)
    assert state.clock == now


def test_late_and_in_order_arrival_agree() -> None:
    early, later = T0_S, T0_S + 40 * DAY_S
    in_order = applied(
        observation(early, signal="tax_violation"), observation(later, signal="tax_violation")
    )
    out_of_order = applied(
        observation(later, signal="tax_violation"), observation(early, signal="tax_violation")
    )
    assert out_of_order.signals["tax_violation"] == pytest.approx(in_order.signals["tax_violation"])
    assert out_of_order.clock == in_order.clock == later


def test_clock_never_goes_backwards() -> None:
    state = applied(observation(T0_S + 10 * DAY_S, signal="penalty_general"))
    before = dict(state.signals)
    state.advance(T0_S, POLICY)
    assert state.clock == T0_S + 10 * DAY_S
    assert state.signals == before
    state.apply(observation(T0_S, signal="interview"), POLICY)
    assert state.clock == T0_S + 10 * DAY_S


def test_fully_faded_signals_are_forgotten() -> None:
    state = applied(observation(T0_S, signal="penalty_minor"))
    state.advance(T0_S + 20 * POLICY.signals["penalty_minor"].half_life_s, POLICY)
    assert "penalty_minor" not in state.signals


def test_floor_signals_remember_their_latest_time_even_if_late() -> None:
    state = applied(
        observation(T0_S + DAY_S, signal="penalty_serious"),
        observation(T0_S, signal="penalty_serious"),
    )
    assert state.last_seen["penalty_serious"] == T0_S + DAY_S
    assert "penalty_general" not in state.last_seen  # no floor, nothing to remember


def test_clearing_removes_the_signal() -> None:
    state = applied(
        observation(T0_S, signal="abnormal_operation"),
        observation(T0_S + DAY_S, clears="abnormal_operation"),
    )
    assert "abnormal_operation" not in state.signals
    assert state.events == 2


def test_complaints_and_iot_exceedances_are_windowed() -> None:
    state = applied(
        observation(T0_S, complaint_category="price"),
        observation(T0_S + HOUR_S, iot_exceedance=True),
        observation(T0_S + 2 * HOUR_S),  # a reading within its limit
    )
    assert complaints_30d(state) == 1
    assert iot_exceedances_24h(state) == 1


def test_subject_details_follow_the_latest_record() -> None:
    state = applied(
        observation(T0_S, legal_rep_id="rep-1", region="130102", sector="food_drug"),
        observation(T0_S + 1, region="130104", sector="education"),
    )
    assert (state.region, state.sector) == ("130104", "education")
    assert state.legal_rep_id == "rep-1"  # a record without it does not erase it


# --- dedup memory --------------------------------------------------------------


def test_applied_events_are_remembered() -> None:
    obs = observation(T0_S, event_id="e-1")
    state = applied(obs)
    assert state.seen("e-1") and not state.seen("e-2")


def test_dedup_memory_is_bounded_and_forgets_the_oldest() -> None:
    policy = dataclasses.replace(POLICY, dedup_memory=5)
    state = applied(*(observation(T0_S + i, event_id=f"e-{i}") for i in range(8)), policy=policy)
    assert state.remembered == 5
    assert not any(state.seen(f"e-{i}") for i in range(3))
    assert all(state.seen(f"e-{i}") for i in range(3, 8))
    assert state.events == 8


# --- encoding ------------------------------------------------------------------


def busy_state() -> SubjectState:
    """A state with every field in use, including fingerprints above 2**63."""
    state = SubjectState()
    for i in range(100):
        state.apply(
            observation(
                T0_S + i * 7 * HOUR_S,
                event_id=f"busy-{i}",
                signal=("penalty_serious", "honour", "interview", None)[i % 4],
                complaint_category=("price", None, "contract")[i % 3],
                iot_exceedance=i % 5 == 0,
                legal_rep_id="130102198001011234",
            ),
            POLICY,
        )
    state.tier, state.score, state.version = "C", 61.25, 4
    state.alerted["complaint_surge:price"] = state.clock - DAY_S
    return state


def test_round_trip_through_bytes_restores_the_state() -> None:
    state = busy_state()
    restored = SubjectState.from_bytes(state.to_bytes())
    # Decayed signal values are stored rounded to 1e-6 (see the changelog note);
    # every other field comes back exactly.
    assert restored.signals == pytest.approx(state.signals, abs=1e-6)
    assert dataclasses.replace(restored, signals={}) == dataclasses.replace(state, signals={})
    assert restored.recent_ids == state.recent_ids


def test_encoding_is_a_fixed_point() -> None:
    encoded = busy_state().to_bytes()
    assert SubjectState.from_bytes(encoded).to_bytes() == encoded


def test_restored_state_behaves_like_the_original() -> None:
    state = busy_state()
    restored = SubjectState.from_bytes(state.to_bytes())
    assert score_subject(restored, POLICY) == score_subject(state, POLICY)
    assert all(restored.seen(f"busy-{i}") for i in range(100 - POLICY.dedup_memory, 100))
    nxt = observation(state.clock + DAY_S, complaint_category="price")
    state.apply(nxt, POLICY)
    restored.apply(nxt, POLICY)
    assert complaints_30d(restored) == complaints_30d(state)
    assert restored.events == state.events


def red_listed_state() -> SubjectState:
    state = busy_state()
    state.tier_since_s = T0_S + 5.0
    state.last_adverse = CreditMark("p1", "penalty_minor", T0_S + 7.0, "market_regulation")
    state.honours = [CreditMark(f"h{i}", "honour", T0_S + i, "health") for i in range(3)]
    state.red_list = Listing("red_list", 3, False, T0_S, None, ["h1", "h2"], T0_S + 9.0, "expired")
    return state


def state_owned_state() -> SubjectState:
    state = busy_state()
    state.subject_type = "state_owned"
    state.last_adverse, state.honours, state.red_list = None, [], None
    return state


#: States whose format-5 encodings, written by the code before format 6, are kept in
#: data/subject_state_v5.json: a changelog written then must still be read.
FORMAT_5_STATES = {
    "empty": SubjectState,
    "red_listed": red_listed_state,
    "state_owned": state_owned_state,
}


def format_5(name: str) -> bytes:
    document = json.loads((DATA / "subject_state_v5.json").read_text())
    return bytes.fromhex(document["states"][name])


@pytest.mark.parametrize("name", sorted(FORMAT_5_STATES))
def test_a_state_written_in_format_5_is_read_as_the_same_state(name: str) -> None:
    stored = format_5(name)
    assert stored[0] == 5
    read = SubjectState.from_bytes(stored)
    assert read == FORMAT_5_STATES[name]()
    assert SubjectState.from_bytes(read.to_bytes()) == read  # and it is rewritten in format 6
    assert len(read.to_bytes()) < len(stored)


def test_a_state_stored_before_subject_types_is_read_as_an_enterprise() -> None:
    v5 = format_5("state_owned")
    assert SubjectState.from_bytes(v5).subject_type == "state_owned"
    # Format 4 is format 5 without what the red list needs at the end: here a double
    # (tier_since_s) and three empty counts (no adverse record, honours or listing).
    v4 = bytes([4]) + v5[1 : -(8 + 3)]
    assert SubjectState.from_bytes(v4).subject_type == "state_owned"
    # Format 3 is format 4 without the type at the end (a changelog written before it).
    old = bytes([3]) + v4[1 : -len(b"state_owned") - 1]
    assert SubjectState.from_bytes(old).subject_type == "enterprise"


def test_a_state_from_before_the_red_list_counts_its_tier_from_its_last_event() -> None:
    v4 = bytes([4]) + format_5("state_owned")[1 : -(8 + 3)]
    read = SubjectState.from_bytes(v4)
    assert read.tier_since_s == busy_state().clock and read.red_list is None


def test_what_the_red_list_needs_survives_encoding() -> None:
    state = red_listed_state()
    read = SubjectState.from_bytes(state.to_bytes())
    assert (read.tier_since_s, read.last_adverse, read.honours, read.red_list) == (
        state.tier_since_s, state.last_adverse, state.honours, state.red_list)  # fmt: skip


def test_every_number_time_and_name_comes_back_exactly() -> None:
    """Format 6 writes times in milliseconds and names as words only where that is exact."""
    state = red_listed_state()
    clock = state.clock
    state.score = 61.257  # finer than the hundredths the format writes compactly
    state.version, state.events = 300, 70_000  # counts past one byte
    state.alerted = {
        "tier_d": clock - 0.0004,  # finer than a millisecond
        "iot_anomaly:dev-7:pm25": clock + 12.5,  # not a word of the table; after the clock
        "complaint_surge:price": -0.0,
        "未知规则": float("inf"),
    }
    state.last_seen = {"penalty_serious": float("nan"), "new_signal": clock - 3 * DAY_S}
    state.sector, state.subject_type, state.region = "新行业", "cooperative", "130102"
    state.peer_features = (61.3, 4.0, 1.97, 0.0)
    state.honours = [
        CreditMark(str(uuid.UUID(int=7)), "honour", clock - 1.0, "health"),
        CreditMark(str(uuid.UUID(int=8)).upper(), "honour", clock, "某协会"),  # not canonical
        CreditMark("部门-42", "new_honour", clock - 10 * DAY_S, ""),
    ]
    read = SubjectState.from_bytes(state.to_bytes())
    assert read.last_seen.keys() == state.last_seen.keys()
    assert math.isnan(read.last_seen.pop("penalty_serious"))
    state.last_seen.pop("penalty_serious")
    assert read == state
    assert math.copysign(1.0, read.alerted["complaint_surge:price"]) == -1.0


def test_a_uuid_event_id_of_a_credit_mark_is_written_in_16_bytes() -> None:
    state = SubjectState()
    plain = len(state.to_bytes())
    event_id = "822c4314-1e0b-4cb2-9a9c-0cc050995e08"
    state.last_adverse = CreditMark(event_id, "penalty_general", 0.0, "market_regulation")
    # 16 bytes for the id and a byte for its kind, one each for the signal, the time and
    # the department (names the format knows): 20 bytes, where format 5 spent 73.
    assert len(state.to_bytes()) - plain == 20
    assert SubjectState.from_bytes(state.to_bytes()).last_adverse == state.last_adverse


def test_every_name_a_state_holds_today_is_a_word_of_the_table() -> None:
    """Else it is spelled out in every state that holds it: append it to STATE_WORDS."""
    names = {
        *(member.value for kind in (Sector, Department, SubjectType, ComplaintCategory, Tier)
          for member in kind),
        *(reason.value for reason in ExitReason),
        *POLICY.signals,
        "tier_d",
        "iot_exceedances",
        *(f"complaint_surge:{category.value}" for category in ComplaintCategory),
    }  # fmt: skip
    assert names - set(STATE_WORDS) == set()
    assert len(set(STATE_WORDS)) == len(STATE_WORDS)


def test_a_word_this_code_does_not_know_is_refused_not_misread() -> None:
    encoded = bytearray(SubjectState().to_bytes())
    sector = encoded.index(bytes([STATE_WORDS.index("") + 1]))  # the empty sector's word
    encoded[sector] = 0x7F  # a place past the end of this code's table
    with pytest.raises(ValueError, match="word"):
        SubjectState.from_bytes(bytes(encoded))


def test_a_state_remembers_its_newest_adverse_record_and_its_newest_honours() -> None:
    state = SubjectState()
    for i in range(12):
        state.apply(observation(T0_S + i * 60, event_id=f"h{i}", signal="honour"), POLICY)
    state.apply(observation(T0_S + 3_600, event_id="late", signal="penalty_minor"), POLICY)
    state.apply(observation(T0_S + 60, event_id="early", signal="penalty_general"), POLICY)
    assert [m.event_id for m in state.honours] == [f"h{i}" for i in range(4, 12)]
    assert state.last_adverse is not None and state.last_adverse.event_id == "late"


def test_state_of_an_unknown_format_is_refused() -> None:
    encoded = bytes([99]) + SubjectState().to_bytes()[1:]  # the leading format number
    with pytest.raises(ValueError, match="format"):
        SubjectState.from_bytes(encoded)


def test_state_stays_bounded_after_many_events() -> None:
    state = SubjectState()
    signals = [name for name in POLICY.signals]
    categories = ["price", "contract", "food_safety", "advertising"]
    for i in range(5_000):  # about two years, one event every ~3.5 hours
        state.apply(
            observation(
                T0_S + i * 12_600,
                event_id=f"many-{i}",
                signal=signals[i % len(signals)] if i % 7 == 0 else None,
                complaint_category=categories[i % 4] if i % 3 == 0 else None,
                iot_exceedance=i % 2 == 0,
            ),
            POLICY,
        )
        if i % 50 == 0:
            state.alerted[f"rule-{i}"] = state.clock
            state.prune_alerted(POLICY.alert_cooldown_s)
    assert state.events == 5_000
    assert state.remembered == POLICY.dedup_memory
    assert len(state.signals) <= len(POLICY.signals)
    assert len(state.complaints.counts) <= 30 * len(categories)
    assert len(state.iot_exceedances.counts) <= 24
    # Rules fire every ~7 days here; only those within one cooldown are kept.
    assert len(state.alerted) <= 2
    # Bounded encoding: dominated by 64 fingerprints (~20 bytes each) and the windows.
    assert len(state.to_bytes()) < 8_000


def test_prune_alerted_keeps_only_the_cooldown() -> None:
    state = applied(observation(T0_S + 10 * DAY_S))
    state.alerted = {"old": T0_S, "recent": T0_S + 9 * DAY_S}
    state.prune_alerted(POLICY.alert_cooldown_s)
    assert set(state.alerted) == {"recent"}


def test_a_fingerprint_straddling_two_remembered_ids_is_not_a_duplicate() -> None:
    from detectors.state import event_fingerprint

    fingerprint = event_fingerprint("late-event")
    state = SubjectState()
    # Two remembered ids whose bytes, read across their boundary, spell the fingerprint.
    state.recent_ids = bytearray(
        b"\x01\x01\x01" + fingerprint[:3] + fingerprint[3:] + b"\x02\x02\x02"
    )
    assert state.remembered == 2
    assert not state.seen("late-event")
    state.remember("late-event", memory=64)
    assert state.seen("late-event")
