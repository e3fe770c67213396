"""A scripted year of supervision through the embedded broker, replayed twice.

Nine subjects, September 2025 to August 2026. The script says what must come
out: list entries and exits, department tasks and repair decisions, tier
changes, the publication of the commitment breaches, the personal credit
records of two people, a red-list entry and exit, and a spot-check draw from the
live tiers with a joint visit (issue 18 items 4 and 8, their own section below).
Each replay starts a fresh broker, Redis and worker; both must produce exactly
the script's outcome (issue 5's and issue 18's acceptance).

The register's role records go first (``registry.roles``; another topic, so
the test waits until they are in before the departments' records, which are
sent in event-time order, as departments would send them). Deadlines fire
when a partition's event time passes them, so the script gives every subject
with a due item a later record of its own.
"""

from __future__ import annotations

import tempfile
import time
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import redis
from kafka import KafkaProducer

from creditwatch.admin_io import read_topic
from creditwatch.cli import main as cli_main
from streams.serving import redis_keys
from tests.factories import enforcement_record, make_uscc
from tests.integration.conftest import Pipeline, running_pipeline
from tests.integration.test_pipeline import wait_until
from topics.access import Role
from topics.catalogue import (
    ENFORCEMENT_EVENTS,
    REGISTRY_MEMBERSHIPS,
    REGISTRY_ROLES,
    RISK_LIST_CHANGES,
    RISK_PERSON_RECORDS,
    RISK_PUBLICATIONS,
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
# Issue 18. A self-discipline commitment broken: the industry association is told.
S5 = make_uscc(5105)
# A voluntary commitment broken: its own (smaller) signal on the record, nothing more.
S6 = make_uscc(5106)
# A credit-repair commitment broken after the repair it supported: the repair is
# void, the record published again, the key-attention listing back.
S7 = make_uscc(5107)
# A state-owned enterprise: a serious food penalty (joint punishment) is reported
# to its superior unit and the audit body, and about its legal representative,
# Zhang, to discipline inspection and personnel. Wang's office ended before.
S8 = make_uscc(5108)
# Zhang also controls S9, whose serious penalty with major losses bans it for good.
S9 = make_uscc(5109)
ZHANG, WANG = "P-ZHANG-0001", "P-WANG-0002"

PLACES = {
    S1: ("food_drug", "130102"),
    S2: ("finance", "130104"),
    S3: ("environment", "130108"),
    S4: ("construction", "130102"),
    S5: ("food_drug", "130105"),
    S6: ("other", "130108"),
    S7: ("food_drug", "130104"),
    S8: ("food_drug", "130102"),
    S9: ("construction", "130102"),
}


def when(*args: int) -> str:
    return datetime(*args, tzinfo=CST).isoformat()


def record(subject: str, event_id: str, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    sector, region = PLACES[subject]
    return enforcement_record(subject, event_id, kind, at, sector=sector, region=region, **fields)


def role(subject: str, event_id: str, person: str, held: str, **fields: Any) -> dict[str, Any]:
    sector, region = PLACES[subject]
    return {
        "event_id": event_id,
        "subject": subject,
        "person_id": person,
        "held_from": held,
        "recorded_at": when(2025, 9, 5, 9),
        "sector": sector,
        "region": region,
        **fields,
    }


ROLES = [
    role(S8, "s8-rep", ZHANG, when(2020, 1, 6), role="legal_representative",
         subject_type="state_owned", person_name="张明"),
    role(S8, "s8-former", WANG, when(2018, 1, 8), role="principal_officer",
         held_until=when(2025, 10, 31), subject_type="state_owned", person_name="王芳"),
    role(S9, "s9-controller", ZHANG, when(2021, 6, 1), role="actual_controller",
         person_name="张明"),
]  # fmt: skip

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
        # --- issue 18 ---------------------------------------------------------
        record(
            S5,
            "s5-promise",
            "commitment_made",
            when(2025, 11, 10, 10),
            commitment_kind="industry_self_discipline",
            deadline=when(2026, 11, 30, 17),
            department="industry_association",
        ),
        record(
            S5,
            "s5-broken",
            "commitment_breached",
            when(2026, 2, 10, 10),
            commitment_kind="industry_self_discipline",
            concerns_event_id="s5-promise",
            department="industry_association",
        ),
        record(
            S6,
            "s6-promise",
            "commitment_made",
            when(2025, 12, 1, 10),
            commitment_kind="voluntary",
            deadline=when(2026, 12, 1, 17),
            department="government_services",
        ),
        record(
            S6,
            "s6-broken",
            "commitment_breached",
            when(2026, 3, 2, 10),
            commitment_kind="voluntary",
            concerns_event_id="s6-promise",
            department="government_services",
        ),
        record(S7, "s7-p1", "penalty", when(2025, 10, 13, 10), severity="general"),
        record(S7, "s7-p2", "penalty", when(2025, 12, 15, 10), severity="general"),
        record(S7, "s7-p3", "penalty", when(2026, 1, 20, 10), severity="general"),
        record(
            S7,
            "s7-promise",
            "commitment_made",
            when(2026, 3, 10, 10),
            commitment_kind="credit_repair",
            deadline=when(2026, 12, 31, 17),
            department="government_services",
        ),
        record(
            S7,
            "s7-repair",
            "repair_applied",
            when(2026, 4, 27, 10),
            concerns_event_id="s7-p1",
            department="government_services",
        ),
        record(
            S7,
            "s7-broken",
            "commitment_breached",
            when(2026, 5, 20, 10),
            commitment_kind="credit_repair",
            concerns_event_id="s7-promise",
            department="government_services",
        ),
        record(
            S8,
            "s8-penalty",
            "penalty",
            when(2026, 2, 5, 10),
            severity="serious",
            subject_type="state_owned",
        ),
        record(
            S9,
            "s9-penalty",
            "penalty",
            when(2026, 4, 8, 10),
            severity="serious",
            major_loss=True,
            department="housing_construction",
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
    # Issue 18: refusing a court ruling in construction bans (seed 十, refused_ruling).
    (S4, "market_ban", 1, "entered", None, when(2025, 9, 20, 11)),
    # The broken approval-substitution commitment brings strict licensing.
    (S3, "approval_commitment_breach", 1, "entered", None, when(2026, 1, 1)),
    (S7, "key_attention", 1, "entered", None, when(2026, 1, 20, 10)),
    (S7, "key_attention", 2, "exited", "repaired", when(2026, 4, 27, 10)),
    (S7, "key_attention", 3, "entered", None, when(2026, 5, 20, 10)),  # the repair void
    (S8, "joint_punishment", 1, "entered", None, when(2026, 2, 5, 10)),
    (S9, "joint_punishment", 1, "entered", None, when(2026, 4, 8, 10)),
    (S9, "market_ban", 1, "entered", None, when(2026, 4, 8, 10)),  # major losses: for good
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
    # Issue 18: each commitment kind's consequence.
    (S3, "approval_revocation", "government_services", "s3-promise", None, ("revoke_approval",)),
    (S5, "self_discipline_breached", "industry_association", "s5-promise", None,
     ("self_discipline",)),
    (S7, "repair_approved", "government_services", "s7-repair", None, ()),
    (S7, "repair_voided", "government_services", "s7-repair", None, ("commitment_breached",)),
    # The state-owned S8: its record and its listing to the superior unit and audit...
    (S8, "public_sector_report", "superior_unit", "s8-penalty", None, ("penalty_serious",)),
    (S8, "public_sector_report", "audit", "s8-penalty", None, ("penalty_serious",)),
    (S8, "public_sector_report", "superior_unit", "s8-penalty", None, ("joint_punishment",)),
    (S8, "public_sector_report", "audit", "s8-penalty", None, ("joint_punishment",)),
    # ... and its legal representative's to discipline inspection and personnel.
    (S8, "staff_report", "discipline_inspection", "s8-penalty", None, ("legal_representative",)),
    (S8, "staff_report", "organisation_personnel", "s8-penalty", None, ("legal_representative",)),
}  # fmt: skip
TIER_CHANGES = {
    # (subject, version, previous tier, tier)
    (S1, 1, None, "C"),  # a serious penalty holds the subject at C at least
    (S1, 2, "C", "B"),  # the corrected record no longer counts
    (S4, 1, None, "D"),  # a court ruling holds it at D
    (S2, 1, None, "B"),
    (S2, 2, "B", "C"),  # the third general penalty
    (S2, 3, "C", "B"),  # the first penalty repaired
    (S3, 1, None, "B"),  # the breach adds points but not enough for C
    (S5, 1, None, "B"),  # a self-discipline breach (10 points) keeps it at B
    (S6, 1, None, "B"),  # a voluntary breach (6 points) too
    (S7, 1, None, "B"),
    (S7, 2, "B", "C"),  # the third general penalty
    (S7, 3, "C", "B"),  # the first one repaired
    (S7, 4, "B", "C"),  # the repair void, and the breach on top
    (S8, 1, None, "B"),  # registered
    (S8, 2, "B", "C"),  # a serious penalty holds it at C at least
    (S9, 1, None, "B"),
    (S9, 2, "B", "C"),
}
#: The publications of the breaches and of the repaired, then voided, record.
PUBLICATIONS = {
    # (subject, record, version, status, reason)
    (S5, "s5-broken", 1, "published", "filed"),
    (S6, "s6-broken", 1, "published", "filed"),
    (S7, "s7-p1", 1, "published", "filed"),
    (S7, "s7-p1", 2, "repaired", "repaired"),
    (S7, "s7-p1", 3, "published", "repair_voided"),
    (S7, "s7-p2", 1, "published", "filed"),
    (S7, "s7-p3", 1, "published", "filed"),
    (S7, "s7-broken", 1, "published", "filed"),
}
#: Each person's record as it last stands: their roles, and the listings that reached them
#: (subject, list, active, end; None: no end). Wang left S8 before its listing.
PEOPLE = {
    ZHANG: (
        ((S8, "legal_representative"), (S9, "actual_controller")),
        (
            (S8, "joint_punishment", True, when(2029, 2, 4, 10)),  # 1095 days: 2028 is a leap year
            (S9, "joint_punishment", True, when(2029, 4, 7, 10)),
            (S9, "market_ban", True, None),
        ),
    ),
    WANG: (((S8, "principal_officer"),), ()),
}


# --- issue 18 items 4 and 8: the red list, and a draw from the live tiers ------------

# A year in tier A, honoured again: the red list (诚信红名单); a penalty ends it. (Its
# records stay before September 2026: a later event time on its partition would let
# the other subjects' records of 2025 lapse, and change their outcome.)
S10 = make_uscc(5110)
PLACES[S10] = ("food_drug", "130102")
REWARDS_SCRIPT = [
    record(S10, "s10-honour-1", "honour", when(2025, 8, 1, 10)),
    record(S10, "s10-honour-2", "honour", when(2026, 8, 3, 10)),
    record(S10, "s10-penalty", "penalty", when(2026, 8, 20, 10), severity="minor"),
]
SCRIPT = sorted(SCRIPT + REWARDS_SCRIPT, key=lambda r: r["occurred_at"])
LIST_CHANGES |= {
    (S10, "red_list", 1, "entered", None, when(2026, 8, 3, 10)),
    (S10, "red_list", 2, "exited", "no_longer_eligible", when(2026, 8, 20, 10)),
}
TIER_CHANGES |= {(S10, 1, None, "A")}  # honoured first: A, and still A after the penalty

#: A round in 裕华区 (130104) drawn from the live tiers after the script: no A or B
#: subject is drawn (ratio 0), a C subject half the time, but S7, C and on the
#: key-attention list (more_spot_checks, ×2), always; market regulation and health
#: (food and drugs) both draw it, so they visit it together (进一次门、查多项事).
DRAW_POLICY = """version = "scripted-year"
[ratio]
A = 0.0
B = 0.0
C = 0.5
D = 1.0
[rounds_per_year]
A = 1
B = 1
C = 2
D = 4
[measures]
more_spot_checks = 2.0
fewer_spot_checks = 0.5
[departments]
market_regulation = "all"
health = ["food_drug", "elderly_childcare"]
"""
DRAW_ROSTER = """inspector_id,name,regions,conflicts,department
H1,刘洋,130104,,health
H2,陈静,130104,,health
M1,杨帆,130104,,market_regulation
M2,黄磊,130104,,market_regulation
T1,周涛,130104,,taxation
"""
#: (uscc, tier, reason, departments, measures) of each visit, and what the count says.
JOINT_VISITS = (
    ((S7, "C", "sampled", ("health", "market_regulation"), ("more_spot_checks",)),),
    {"B": (1, 0), "C": (1, 1)},  # tier: (eligible, drawn)
)


def draw_from_live_tiers(bootstrap_redis: str) -> dict[str, Any]:
    """``creditwatch spotcheck draw --live`` on the worker's serving view, as a plan."""
    wait_until(lambda: live_tier(bootstrap_redis, S7) == "C", 30, "S7's profile")
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        policy, roster, out = (folder / name for name in ("policy.toml", "roster.csv", "p.json"))
        policy.write_text(DRAW_POLICY, encoding="utf-8")
        roster.write_text(DRAW_ROSTER, encoding="utf-8")
        argv = ["spotcheck", "draw", "--live", "--redis", bootstrap_redis, "--region", "130104",
                "--date", "2026-12-01", "--seed", "18", "--policy", str(policy),
                "--roster", str(roster), "--out", str(out)]  # fmt: skip
        assert cli_main(argv) == 0
        plan: dict[str, Any] = orjson.loads(out.read_bytes())
    return plan


def live_tier(redis_url: str, subject: str) -> str | None:
    with redis.Redis.from_url(redis_url) as client:
        stored = client.get(redis_keys.profile(subject))
    return None if stored is None else orjson.loads(stored)["tier"]


def visits_of(plan: dict[str, Any]) -> tuple[Any, ...]:
    visits = tuple(
        (t["uscc"], t["tier"], t["reason"], tuple(t["departments"]), tuple(t["measures"]))
        for t in plan["tasks"]
    )
    counts = {
        tier: (c["eligible"], c["drawn"]) for tier, c in plan["counts"].items() if c["eligible"]
    }
    return visits, counts


def utc_iso(text: str | None) -> str | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(CST).isoformat()


#: Lists, notices, tiers, publications (sets of tuples) and people (by person id).
Outcome = tuple[Any, ...]


def people(bootstrap: str) -> dict[str, Any]:
    """The latest record of each of the script's people, as comparable tuples."""
    latest: dict[str, dict[str, Any]] = {}
    for message in read_topic(bootstrap, RISK_PERSON_RECORDS.name):
        value = orjson.loads(message.value)
        person_id = value["person_id"]
        if person_id in (ZHANG, WANG) and value["version"] > latest.get(person_id, {}).get(
            "version", 0
        ):
            latest[person_id] = value
    return {
        person_id: (
            tuple(sorted((r["subject"], r["role"]) for r in value["roles"])),
            tuple(
                sorted(
                    (e["subject"], e["list"], e["active"], utc_iso(e["expires_at"]))
                    for e in value["entries"]
                )
            ),
        )
        for person_id, value in latest.items()
    }


def outcome(bootstrap: str) -> Outcome:
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
    publications = {
        (v["subject"], v["event_id"], v["version"], v["status"], v["reason"])
        for v in values(RISK_PUBLICATIONS.name)
        if v["subject"] in (S5, S6, S7)
    }
    return lists, notices, tiers, publications, people(bootstrap)


def send(bootstrap: str, topic: str, items: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for item in items:
        producer.send(topic, key=item["subject"].encode(), value=orjson.dumps(item))
    producer.flush()
    producer.close()


def replay_script() -> Outcome:
    with running_pipeline() as pipeline:
        bootstrap = pipeline.stack.bootstrap
        send(bootstrap, REGISTRY_ROLES.name, ROLES)
        wait_until(lambda: set(people(bootstrap)) == set(PEOPLE), 60, "the people registered")
        send(bootstrap, ENFORCEMENT_EVENTS.name, SCRIPT)
        expected = (
            len(LIST_CHANGES),
            len(NOTICES),
            len(TIER_CHANGES),
            len(PUBLICATIONS),
            len(PEOPLE),
        )

        def arrived() -> bool:
            found = outcome(bootstrap)
            return tuple(map(len, found)) >= expected and found[4] == PEOPLE

        wait_until(arrived, 60, "the script's outcome")
        time.sleep(2)  # anything beyond the script would show up now
        return *outcome(bootstrap), draw_from_live_tiers(pipeline.stack.redis_url)


def test_a_scripted_year_yields_exactly_its_outcome_twice_in_a_row() -> None:
    plans = []
    for replay in (1, 2):
        lists, notices, tiers, publications, persons, plan = replay_script()
        plans.append(plan)
        assert visits_of(plan) == JOINT_VISITS, f"replay {replay}"
        assert lists == LIST_CHANGES, f"replay {replay}"
        assert notices == NOTICES, f"replay {replay}"
        assert tiers == TIER_CHANGES, f"replay {replay}"
        assert publications == PUBLICATIONS, f"replay {replay}"
        assert persons == PEOPLE, f"replay {replay}"
    # The same live state, seed and policy: the same plan, inspectors and all; the joint
    # visit's two inspectors are of its departments (the tax inspector is not sent).
    assert plans[0] == plans[1]
    (visit,) = plans[0]["tasks"]
    assert set(visit["inspectors"]) <= {"H1", "H2", "M1", "M2"}


# === Issue 18 items 7 and 9: an association's feed, a subject's self-service ===========
# Its own pipeline per replay, so the script above stays exactly as it is. An
# industry association has two members; one left on 1 February 2026. Three subjects
# follow S7's path (three general penalties, a credit-repair commitment, a repair):
# the association's feed shows its member's whole path, the former member's up to
# its leaving, and nothing of the third, which never was a member. Then a subject,
# through its own token, applies to repair a penalty of ten days ago: refused, with
# the reasons and the earliest date. Its records are dated from today, so they come
# after the feed is read (a partition's event time jumping to today ends the
# publication periods of the script's records, which is not what this part is about).

ASSOCIATION = "food-assoc"
A1, A2, A3 = make_uscc(5121), make_uscc(5122), make_uscc(5123)  # member, former, never
SELF = make_uscc(5124)
PLACES.update({A1: ("food_drug", "130104"), A2: ("food_drug", "130104")})
PLACES.update({A3: ("food_drug", "130104"), SELF: ("food_drug", "130102")})

MEMBERSHIPS = [
    {"event_id": "join-a1", "association": ASSOCIATION, "subject": A1,
     "member_from": when(2025, 9, 1), "recorded_at": when(2025, 9, 1)},
    {"event_id": "join-a2", "association": ASSOCIATION, "subject": A2,
     "member_from": when(2025, 9, 1), "member_until": when(2026, 2, 1),
     "recorded_at": when(2026, 2, 1)},
]  # fmt: skip


def s7_path(subject: str, tag: str) -> list[dict[str, Any]]:
    """S7's records up to its approved repair, for ``subject``."""
    return [
        record(subject, f"{tag}-p1", "penalty", when(2025, 10, 13, 10), severity="general"),
        record(subject, f"{tag}-p2", "penalty", when(2025, 12, 15, 10), severity="general"),
        record(subject, f"{tag}-p3", "penalty", when(2026, 1, 20, 10), severity="general"),
        record(subject, f"{tag}-promise", "commitment_made", when(2026, 3, 10, 10),
               commitment_kind="credit_repair", deadline=when(2026, 12, 31, 17),
               department="government_services"),
        record(subject, f"{tag}-repair", "repair_applied", when(2026, 4, 27, 10),
               concerns_event_id=f"{tag}-p1", department="government_services"),
    ]  # fmt: skip


ASSOCIATION_SCRIPT = sorted(
    s7_path(A1, "a1") + s7_path(A2, "a2") + s7_path(A3, "a3"), key=lambda r: r["occurred_at"]
)
#: (subject, change, version, what, when): A2's exit and return to B came after it left.
ASSOCIATION_FEED = {
    (A1, "tier-change", 2, "C", when(2026, 1, 20, 10)),
    (A1, "list-change", 1, "key_attention entered", when(2026, 1, 20, 10)),
    (A1, "list-change", 2, "key_attention exited repaired", when(2026, 4, 27, 10)),
    (A1, "tier-change", 3, "B", when(2026, 4, 27, 10)),
    (A2, "tier-change", 2, "C", when(2026, 1, 20, 10)),
    (A2, "list-change", 1, "key_attention entered", when(2026, 1, 20, 10)),
}


def feed_of(pipeline: Pipeline, token: str) -> set[tuple[Any, ...]]:
    status, answer = api(pipeline, "GET", "/api/association/feed", token)
    assert status == 200, answer
    found = set()
    for item in answer["changes"]:
        change = item["change"]
        if item["type"] == "tier-change":
            what, at = change["tier"], change["effective_at"]
        else:
            what = " ".join(filter(None, (change["list"], change["action"], change["exit_reason"])))
            at = change["exited_at"] or change["entered_at"]
        found.add((change["subject"], item["type"], change["version"], what, utc_iso(at)))
    return found


def api(
    pipeline: Pipeline, method: str, path: str, token: str, body: Any = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{pipeline.worker.web_port}{path}",
        data=None if body is None else orjson.dumps(body),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def self_service_script(today: date) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """SELF's penalty ten days before ``today`` and the decision its repair must get:
    (kind, reason codes, earliest date: the 90th day after the penalty's, a general
    penalty's minimum period)."""
    day = today - timedelta(days=10)
    penalty = record(SELF, "self-p1", "penalty", when(day.year, day.month, day.day, 10),
                     severity="general")  # fmt: skip
    earliest = day + timedelta(days=90)
    expected = (
        "repair_rejected",
        ("minimum_period", "no_repair_commitment"),
        when(earliest.year, earliest.month, earliest.day),
    )
    return penalty, expected


def replay_association_and_self_service(today: date) -> tuple[Any, ...]:
    penalty, _ = self_service_script(today)
    with running_pipeline() as pipeline:
        bootstrap = pipeline.stack.bootstrap
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for membership in MEMBERSHIPS:
            key = f"{ASSOCIATION}|{membership['subject']}".encode()
            producer.send(REGISTRY_MEMBERSHIPS.name, key=key, value=orjson.dumps(membership))
        producer.flush()
        producer.close()
        send(bootstrap, ENFORCEMENT_EVENTS.name, ASSOCIATION_SCRIPT)
        token = pipeline.issue_token("food-assoc", Role.ASSOCIATION, association=ASSOCIATION)
        wait_until(lambda: feed_of(pipeline, token) >= ASSOCIATION_FEED, 60, "the member feed")
        time.sleep(2)  # anything beyond the script would show up now
        feed = feed_of(pipeline, token)

        send(bootstrap, ENFORCEMENT_EVENTS.name, [penalty])
        own = pipeline.issue_token("self-5124", Role.SUBJECT, subject=SELF)
        wait_until(lambda: api(pipeline, "GET", f"/api/subjects/{SELF}", own)[0] == 200, 60,
                   "the subject's profile")  # fmt: skip
        refused = api(pipeline, "GET", f"/api/subjects/{A1}", own)[0]  # another subject: 404
        filed = api(pipeline, "POST", f"/api/subjects/{SELF}/repairs", own,
                    {"concerns_event_id": "self-p1"})[0]  # fmt: skip
        applications = f"/api/subjects/{SELF}/applications"
        wait_until(lambda: api(pipeline, "GET", applications, own)[1]["decisions"], 60,
                   "the repair decision")  # fmt: skip
        decisions = api(pipeline, "GET", applications, own)[1]["decisions"]
        decided = {
            (d["kind"], tuple(r["code"] for r in d["reasons"]), utc_iso(d["earliest_eligible_at"]))
            for d in decisions
        }
        return feed, refused, filed, decided


def test_an_association_feed_and_a_self_service_repair_twice_in_a_row() -> None:
    today = datetime.now(CST).date()
    _, decision = self_service_script(today)
    for replay in (1, 2):
        feed, refused, filed, decided = replay_association_and_self_service(today)
        assert feed == ASSOCIATION_FEED, f"replay {replay}"
        assert (refused, filed) == (404, 202), f"replay {replay}"
        assert decided == {decision}, f"replay {replay}"
