"""A scripted year of supervision through the embedded broker, replayed twice.

Four subjects, September 2025 to August 2026, enforcement records only. The
script says what must come out: list entries and exits, department tasks and
repair decisions, tier changes. Each replay starts a fresh broker, Redis and
worker; both must produce exactly the script's outcome (issue 5's acceptance).

The records are sent in event-time order, as departments would send them.
Deadlines fire when a partition's event time passes them, so the script
gives every subject with a due item a later record of its own.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from kafka import KafkaProducer

from creditwatch.admin_io import read_topic
from tests.factories import make_uscc
from tests.integration.conftest import running_pipeline
from tests.integration.test_pipeline import wait_until
from topics.catalogue import (
    ENFORCEMENT_EVENTS,
    RISK_LIST_CHANGES,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
)

CST = ZoneInfo("Asia/Shanghai")

# Objection upheld: a serious food-safety penalty lists the subject for joint
# punishment; the subject disputes it and wins, so the record and listing go.
S1 = make_uscc(5101)
# Repeated violations: a third general penalty within a year puts the subject on
# the key-attention list; a missed rectification deadline gives the ordering
# department an interview task; credit repair of the first penalty (after the
# 90-day minimum, with a repair commitment) ends the listing.
S2 = make_uscc(5102)
# A broken commitment: not fulfilled by 31 December, so a breach enters the
# record on 1 January; repair applied ten days later is refused, with reasons.
S3 = make_uscc(5103)
# A court dishonest-debtor ruling: joint punishment; an objection nobody
# decides is escalated to the court; repair is refused (the court decides).
S4 = make_uscc(5104)

PLACES = {
    S1: ("food_drug", "130102"),
    S2: ("finance", "130104"),
    S3: ("environment", "130108"),
    S4: ("construction", "130102"),
}


def when(*args: int) -> str:
    return datetime(*args, tzinfo=CST).isoformat()


def record(subject: str, event_id: str, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    sector, region = PLACES[subject]
    return {
        "event_id": event_id,
        "subject": subject,
        "kind": kind,
        "occurred_at": at,
        "department": "market_regulation",
        "sector": sector,
        "region": region,
        **fields,
    }


SCRIPT = sorted(
    [
        record(S1, "s1-penalty", "penalty", when(2025, 9, 10, 10), severity="serious"),
        record(
            S1,
            "s1-objection",
            "objection_filed",
            when(2025, 9, 15, 9),
            concerns_event_id="s1-penalty",
        ),
        record(
            S1,
            "s1-decision",
            "objection_decided",
            when(2025, 10, 9, 16),
            concerns_event_id="s1-penalty",
            outcome="upheld",
        ),
        record(
            S4, "s4-ruling", "court_dishonest_debtor", when(2025, 9, 20, 11), department="court"
        ),
        record(
            S4,
            "s4-objection",
            "objection_filed",
            when(2025, 10, 20, 9),
            concerns_event_id="s4-ruling",
            department="court",
        ),
        record(
            S4,
            "s4-repair",
            "repair_applied",
            when(2026, 5, 6, 10),
            concerns_event_id="s4-ruling",
            department="government_services",
        ),
        record(S2, "s2-p1", "penalty", when(2025, 10, 9, 10), severity="general"),
        record(S2, "s2-p2", "penalty", when(2026, 1, 15, 10), severity="general"),
        record(S2, "s2-p3", "penalty", when(2026, 3, 20, 10), severity="general"),
        record(
            S2,
            "s2-order",
            "rectification_ordered",
            when(2026, 3, 20, 11),
            deadline=when(2026, 4, 3, 17),
        ),
        record(S2, "s2-interview", "interview", when(2026, 4, 10, 15)),
        record(
            S2,
            "s2-promise",
            "commitment_made",
            when(2026, 6, 20, 9),
            commitment_kind="credit_repair",
            deadline=when(2026, 8, 31, 17),
            department="government_services",
        ),
        record(
            S2,
            "s2-repair",
            "repair_applied",
            when(2026, 6, 29, 10),
            concerns_event_id="s2-p1",
            department="government_services",
        ),
        record(
            S2,
            "s2-kept",
            "commitment_fulfilled",
            when(2026, 7, 20, 10),
            commitment_kind="credit_repair",
            concerns_event_id="s2-promise",
            department="government_services",
        ),
        record(
            S3,
            "s3-promise",
            "commitment_made",
            when(2025, 11, 3, 10),
            commitment_kind="approval_substitution",
            deadline=when(2025, 12, 31, 17),
            department="government_services",
        ),
        record(
            S3,
            "s3-repair",
            "repair_applied",
            when(2026, 1, 12, 10),
            concerns_event_id="s3-promise:breach",
            department="government_services",
        ),
    ],
    key=lambda r: r["occurred_at"],
)

# --- what the script must produce -----------------------------------------------

LIST_CHANGES = {
    (S1, "joint_punishment", 1, "entered", None, when(2025, 9, 10, 10)),
    (S1, "joint_punishment", 2, "exited", "objection_upheld", when(2025, 10, 9, 16)),
    (S4, "joint_punishment", 1, "entered", None, when(2025, 9, 20, 11)),
    (S2, "key_attention", 1, "entered", None, when(2026, 3, 20, 10)),
    (S2, "key_attention", 2, "exited", "repaired", when(2026, 6, 29, 10)),
}
NOTICES = {
    # (subject, kind, department, concerns, due or earliest date, reason codes)
    (S4, "objection_overdue", "court", "s4-objection", None, ()),
    (S2, "interview_due", "market_regulation", "s2-order", when(2026, 4, 21), ()),
    (S2, "repair_approved", "government_services", "s2-repair", None, ()),
    (S3, "commitment_breached", "government_services", "s3-promise", None, ()),
    (
        S3,
        "repair_rejected",
        "government_services",
        "s3-repair",
        when(2026, 4, 1),
        ("minimum_period", "no_repair_commitment"),
    ),
    (S4, "repair_rejected", "government_services", "s4-repair", None, ("not_repairable",)),
}
TIER_CHANGES = {
    # (subject, version, previous tier, tier)
    (S1, 1, None, "C"),  # a serious penalty holds the subject at C at least
    (S1, 2, "C", "B"),  # the corrected record no longer counts
    (S4, 1, None, "D"),  # a court ruling holds it at D
    (S2, 1, None, "B"),
    (S2, 2, "B", "C"),  # the third general penalty
    (S2, 3, "C", "B"),  # the first penalty repaired
    (S3, 1, None, "B"),  # the breach adds points but not enough for C
}


def utc_iso(text: str | None) -> str | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(CST).isoformat()


def outcome(bootstrap: str) -> tuple[set[tuple[Any, ...]], ...]:
    """What the worker published about the script's subjects, as comparable tuples."""

    def values(topic: str) -> list[dict[str, Any]]:
        found = [orjson.loads(m.value) for m in read_topic(bootstrap, topic) if m.value]
        return [v for v in found if v.get("subject") in PLACES]

    lists = {
        (
            v["subject"],
            v["list"],
            v["version"],
            v["action"],
            v["exit_reason"],
            utc_iso(v["exited_at"] or v["entered_at"]),
        )
        for v in values(RISK_LIST_CHANGES.name)
    }
    notices = {
        (
            v["subject"],
            v["kind"],
            v["department"],
            v["concerns_event_id"],
            utc_iso(v["due_at"] or v["earliest_eligible_at"]),
            tuple(r["code"] for r in v["reasons"]),
        )
        for v in values(RISK_WORKFLOW.name)
    }
    tiers = {
        (v["subject"], v["version"], v["previous_tier"], v["tier"])
        for v in values(RISK_TIER_CHANGES.name)
    }
    return lists, notices, tiers


def replay_script() -> tuple[set[tuple[Any, ...]], ...]:
    with running_pipeline() as pipeline:
        bootstrap = pipeline.stack.bootstrap
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for item in SCRIPT:
            producer.send(
                ENFORCEMENT_EVENTS.name, key=item["subject"].encode(), value=orjson.dumps(item)
            )
        producer.flush()
        producer.close()
        expected = (len(LIST_CHANGES), len(NOTICES), len(TIER_CHANGES))
        wait_until(
            lambda: tuple(map(len, outcome(bootstrap))) >= expected, 60, "the script's outcome"
        )
        time.sleep(2)  # anything beyond the script would show up now
        return outcome(bootstrap)


def test_a_scripted_year_yields_exactly_its_outcome_twice_in_a_row() -> None:
    for replay in (1, 2):
        lists, notices, tiers = replay_script()
        assert lists == LIST_CHANGES, f"replay {replay}"
        assert notices == NOTICES, f"replay {replay}"
        assert tiers == TIER_CHANGES, f"replay {replay}"
