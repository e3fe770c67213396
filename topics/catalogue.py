"""Every topic creditwatch reads or writes, with its partitioning and retention.

The Faust app declares its topics from here and ``creditwatch topics create``
creates them on a production broker, so the two cannot disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    description: str
    compacted: bool = False
    retention_ms: int | None = 30 * DAY_MS  # None: keep forever
    #: A fixed partition count (e.g. 1 for a totally ordered log); None: the deployment's.
    fixed_partitions: int | None = None

    def partitions(self, default: int) -> int:
        return self.fixed_partitions or default

    def config(self) -> dict[str, str]:
        """Broker-side topic configuration."""
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        config["retention.ms"] = "-1" if self.retention_ms is None else str(self.retention_ms)
        return config


# Credit records stay on their topics without a time limit: the log is the system of
# record, and the record store (streams/archive, docs/record-store.md) is rebuilt from
# it. Readings keep the IoT policy period only (the store prunes them after it too).
ENFORCEMENT_EVENTS = TopicSpec(
    "enforcement.events", "department enforcement and credit events", retention_ms=None
)
COMPLAINTS_12315 = TopicSpec(
    "complaints.12315", "12315 complaints, reports and enquiries", retention_ms=None
)
IOT_READINGS = TopicSpec("iot.readings", "IoT and camera-AI readings", retention_ms=7 * DAY_MS)
REGISTRY_ROLES = TopicSpec(
    "registry.roles",
    "who holds which role in a subject (legal representative, principal officer, actual "
    "controller), from when to when, and the subject's type",
    retention_ms=None,
)
SECTOR_EVALUATIONS = TopicSpec(
    "evaluations.sector",
    "state and provincial credit evaluations of subjects in the 8 key sectors (seed 六)",
    retention_ms=None,
)
RISK_ALERTS = TopicSpec("risk.alerts", "alerts and their lifecycle", retention_ms=365 * DAY_MS)
RISK_TIER_CHANGES = TopicSpec(
    "risk.tier-changes",
    "credit tier changes, latest per subject",
    compacted=True,
    retention_ms=None,
)
RISK_DLQ = TopicSpec(
    "risk.dlq", "records that failed decoding or validation", retention_ms=90 * DAY_MS
)

RISK_LIST_CHANGES = TopicSpec(
    "risk.list-changes",
    "joint-punishment and key-attention list entries and exits, latest per subject and list",
    compacted=True,
    retention_ms=None,
)
RISK_WORKFLOW = TopicSpec(
    "risk.workflow",
    "tasks and decisions for departments: missed commitments, interviews due, "
    "overdue objections, repair decisions",
    retention_ms=365 * DAY_MS,
)
SPOTCHECK_PLANS = TopicSpec(
    "risk.spotcheck-plans",
    "双随机一公开 spot-check plans as drawn (region, date, seed, tasks), latest per round",
    compacted=True,
    retention_ms=None,
)
RISK_PUBLICATIONS = TopicSpec(
    "risk.publications",
    "adverse records in publication (双公示) and their standing, latest per subject and record",
    compacted=True,
    retention_ms=None,
)
RISK_CREDIT_REPORTS = TopicSpec(
    "risk.credit-reports",
    "credit reports issued (number, subject, validity, SHA-256 of the PDF, content), by number",
    retention_ms=None,
)
RISK_AUDIT = TopicSpec(
    "risk.audit",
    "hash-chained audit trail of every state-changing action (one partition)",
    retention_ms=None,
    fixed_partitions=1,
)
AUDIT_REQUESTS = TopicSpec(
    "risk.internal.audit-requests",
    "actions to be appended to the audit trail by its single chaining agent",
    retention_ms=7 * DAY_MS,
    fixed_partitions=1,
)
RISK_SILENCES = TopicSpec(
    "risk.silences",
    "alert silences (matchers, start, end, reason, author), latest per silence",
    compacted=True,
    retention_ms=None,
)
ALERT_CANDIDATES = TopicSpec(
    "risk.internal.alert-candidates",
    "alerts raised by the detectors and actions on alerts, keyed like risk.alerts, "
    "for the alert manager",
    retention_ms=7 * DAY_MS,
)
RISK_PERSON_RECORDS = TopicSpec(
    "risk.person-records",
    "personal credit records of responsible people (seed 十一): their roles, the list "
    "entries of their subjects and the measures on them, latest per person pseudonym",
    compacted=True,
    retention_ms=None,
)
RISK_CASES = TopicSpec(
    "risk.cases",
    "cases (issue 17): a subject's or incident's alerts, notices, owner, status, notes and "
    "verdicts, latest per case key",
    compacted=True,
    retention_ms=None,
)
CASE_COMMANDS = TopicSpec(
    "risk.internal.case-commands",
    "actions on cases (assign, status, note, verdict, SLA escalation), keyed by case key, "
    "for the case agent",
    retention_ms=7 * DAY_MS,
)
ACCESS_TOKENS = TopicSpec(
    "risk.access-tokens",
    "API tokens (hashed) with role and scope, latest per token",
    compacted=True,
    retention_ms=None,
)
# Issue 18 (seed 十八): industry associations' members, latest per association and subject.
REGISTRY_MEMBERSHIPS = TopicSpec(
    "registry.memberships",
    "industry association members (association, subject, from, until), latest per pair",
    compacted=True,
    retention_ms=None,
)
# Issue 18 (seed 五): subjects' voluntary registrations and their verification.
RISK_REGISTRATIONS = TopicSpec(
    "risk.registrations",
    "voluntary registrations filed by subjects (pending, verified, rejected), latest per "
    "registration",
    compacted=True,
    retention_ms=None,
)
# Issue 17 (seed 八): policy versions by maker-checker, followed by every worker.
RISK_POLICY_VERSIONS = TopicSpec(
    "risk.policy-versions",
    "policy versions proposed and approved (maker-checker); the newest approved one is "
    "in force and every worker follows it (one partition, latest per proposal)",
    compacted=True,
    retention_ms=None,
    fixed_partitions=1,
)

# Internal: the ingest agent re-keys what the detectors beyond one subject need
# (by legal representative, complaint category, peer group, person), so each of those
# detectors sees its whole group in one partition. Not a public contract.
ADVERSE_SIGNALS = TopicSpec(
    "risk.internal.adverse-signals",
    "adverse records keyed by linkage group (cross-sector detector)",
    retention_ms=7 * DAY_MS,
)
COMPLAINT_COUNTS = TopicSpec(
    "risk.internal.complaint-counts",
    "complaint counts per batch keyed by category (cross-region detector)",
    retention_ms=7 * DAY_MS,
)
PERSON_FACTS = TopicSpec(
    "risk.internal.person-facts",
    "roles and list entries for people, keyed by person pseudonym (person-record agent)",
    retention_ms=7 * DAY_MS,
)
DEPARTMENT_MIX = TopicSpec(
    "risk.internal.department-mix",
    "cross-sector patterns keyed by sector (department-mix model of the sector)",
    retention_ms=7 * DAY_MS,
)
PEER_FEATURES = TopicSpec(
    "risk.internal.peer-features",
    "subject feature changes keyed by peer group (peer-outlier detector)",
    retention_ms=7 * DAY_MS,
)

INPUT_TOPICS = (
    ENFORCEMENT_EVENTS,
    COMPLAINTS_12315,
    IOT_READINGS,
    REGISTRY_ROLES,
    SECTOR_EVALUATIONS,
)
OUTPUT_TOPICS = (
    RISK_ALERTS,
    RISK_TIER_CHANGES,
    RISK_LIST_CHANGES,
    RISK_WORKFLOW,
    RISK_PUBLICATIONS,
    RISK_PERSON_RECORDS,
    RISK_CREDIT_REPORTS,
    SPOTCHECK_PLANS,
    RISK_DLQ,
    RISK_AUDIT,
    RISK_SILENCES,
    ACCESS_TOKENS,
    REGISTRY_MEMBERSHIPS,
    RISK_REGISTRATIONS,
    RISK_CASES,
    RISK_POLICY_VERSIONS,
)
INTERNAL_TOPICS = (
    ADVERSE_SIGNALS,
    DEPARTMENT_MIX,
    COMPLAINT_COUNTS,
    PEER_FEATURES,
    PERSON_FACTS,
    AUDIT_REQUESTS,
    ALERT_CANDIDATES,
    CASE_COMMANDS,
)
ALL_TOPICS = INPUT_TOPICS + OUTPUT_TOPICS + INTERNAL_TOPICS


def default_partitions() -> int:
    """Partitions per topic; input topics must share one count (co-partitioned state)."""
    return int(os.environ.get("CREDITWATCH_PARTITIONS", "4"))
