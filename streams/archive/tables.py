"""Every table of the record store, its columns and its idempotency key.

The Alembic migrations (``migrations/versions/``) create these tables; the sink
writes them from these specs, and ``tests/streams/archive`` checks that the
two agree column by column. A change is additive: a new migration, then the
spec here.

Two kinds of table:

* **history**: one row per record or fact as it was published, never
  updated; the key is the record's idempotency key (an input's subject and
  event id, a tier change's subject and version, ...), so a replay or a
  redelivered record writes nothing (``ON CONFLICT DO NOTHING``).
* **state**: one row per thing (a subject's tier, a record's publication, a
  subject's listing), the latest version of it: a row is replaced only by a
  higher ``latest`` column (``version``), so the outcome does not depend on
  the order or number of deliveries.

Every table also has ``source_partition`` and ``source_offset`` (where the
row's message is on its topic, for tracing) and ``stored_at`` (when the sink
wrote it); the digest (:mod:`streams.archive.store`) leaves those out.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT = "text"
TIME = "timestamptz"
DATE = "date"
FLOAT = "double precision"
NUMERIC = "numeric"
INT = "integer"
BIGINT = "bigint"
BOOL = "boolean"
JSON = "jsonb"

#: Where the row came from and when it was written: not content, not in the digest.
SOURCE_COLUMNS = ("source_partition", "source_offset")
STORED_AT = "stored_at"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    nullable: bool = True


def required(name: str, type_: str = TEXT) -> Column:
    return Column(name, type_, nullable=False)


def optional(name: str, type_: str = TEXT) -> Column:
    return Column(name, type_)


@dataclass(frozen=True, slots=True)
class Table:
    """A table's content columns (in order), its key, and for a state table its
    ``latest`` column: the higher value replaces the row."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    latest: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def written_columns(self) -> tuple[str, ...]:
        """What the sink writes: the content, then where it came from."""
        return self.column_names + SOURCE_COLUMNS

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


BODY = required("body", JSON)  # the record's whole JSON, as on its topic

# ------------------------------------------------------------------ input records

ENFORCEMENT_EVENTS = Table(
    "enforcement_events",
    (
        required("subject"),
        required("event_id"),
        required("kind"),
        required("occurred_at", TIME),
        required("department"),
        required("sector"),
        required("region"),
        optional("severity"),
        optional("commitment_kind"),
        optional("result"),
        optional("deadline", TIME),
        optional("concerns_event_id"),
        optional("outcome"),
        optional("amount", NUMERIC),
        optional("legal_rep_id"),
        optional("reference"),
        optional("description"),
        BODY,
    ),
    key=("subject", "event_id"),
)

COMPLAINTS = Table(
    "complaints",
    (
        required("subject"),
        required("event_id"),
        required("kind"),
        required("category"),
        required("channel"),
        required("region"),
        required("sector"),
        required("received_at", TIME),
        required("status"),
        optional("amount", NUMERIC),
        optional("product"),
        BODY,
    ),
    key=("subject", "event_id"),
)

IOT_READINGS = Table(
    "iot_readings",
    (
        required("subject"),
        required("event_id"),
        required("device_id"),
        required("sector"),
        required("region"),
        required("metric"),
        required("value", FLOAT),
        required("unit"),
        required("measured_at", TIME),
        optional("limit_value", FLOAT),  # the contract's "limit" (a reserved word in SQL)
        BODY,
    ),
    key=("subject", "event_id"),
)

# ------------------------------------------------------------------ derived facts

_TIER_COLUMNS = (
    required("subject"),
    required("version", INT),
    optional("previous_tier"),
    required("tier"),
    required("score", FLOAT),
    required("effective_at", TIME),
    required("policy_version"),
    required("region"),
    required("sector"),
    BODY,
)
TIER_CHANGES = Table("tier_changes", _TIER_COLUMNS, key=("subject", "version"))
TIER_STATE = Table("tier_state", _TIER_COLUMNS, key=("subject",), latest="version")

_LIST_COLUMNS = (
    required("subject"),
    required("list"),
    required("version", INT),
    required("action"),
    required("active", BOOL),  # action == "entered"
    required("entered_at", TIME),
    optional("expires_at", TIME),
    optional("exited_at", TIME),
    optional("exit_reason"),
    optional("legal_rep_id"),
    required("policy_version"),
    required("region"),
    required("sector"),
    BODY,
)
LIST_CHANGES = Table("list_changes", _LIST_COLUMNS, key=("subject", "list", "version"))
LIST_STATE = Table("list_state", _LIST_COLUMNS, key=("subject", "list"), latest="version")

WORKFLOW_NOTICES = Table(
    "workflow_notices",
    (
        required("notice_id"),
        required("subject"),
        required("kind"),
        required("department"),
        required("issued_at", TIME),
        required("concerns_event_id"),
        optional("due_at", TIME),
        optional("earliest_eligible_at", TIME),
        required("policy_version"),
        required("region"),
        required("sector"),
        BODY,
    ),
    key=("notice_id",),
)

ALERT_SNAPSHOTS = Table(
    "alert_snapshots",
    (
        required("alert_id"),
        required("revision", INT),
        required("dedup_key"),
        optional("subject"),  # null for an area-wide alert
        required("kind"),
        required("severity"),
        required("score", FLOAT),
        optional("tier"),
        required("region"),
        required("sector"),
        required("status"),
        required("event"),
        required("title"),
        required("created_at", TIME),
        optional("updated_at", TIME),
        required("policy_version"),
        BODY,
    ),
    key=("alert_id", "revision"),
)

_PUBLICATION_COLUMNS = (
    required("subject"),
    required("event_id"),
    required("version", INT),
    required("kind"),
    required("signal"),
    required("severity"),
    required("department"),
    required("sector"),
    required("region"),
    required("status"),
    required("published_from", TIME),
    required("published_until", TIME),
    required("repairable_from", TIME),
    required("disputed", BOOL),
    required("reason"),
    optional("cause_event_id"),
    required("changed_at", TIME),
    required("policy_version"),
    BODY,
)
PUBLICATIONS = Table("publications", _PUBLICATION_COLUMNS, key=("subject", "event_id", "version"))
PUBLICATION_STATE = Table(
    "publication_state", _PUBLICATION_COLUMNS, key=("subject", "event_id"), latest="version"
)

SPOTCHECK_PLANS = Table(
    "spotcheck_plans",
    (
        required("region"),
        required("plan_date", DATE),
        required("seed", BIGINT),
        required("policy_version"),
        required("task_count", INT),
        BODY,
    ),
    key=("region", "plan_date"),
    # A round redrawn under the same key replaces the earlier plan, as the
    # compacted topic does: the later message wins.
    latest="source_offset",
)

CREDIT_REPORTS = Table(
    "credit_reports",
    (
        required("number"),
        required("subject"),
        required("issued_at", TIME),
        required("valid_until", TIME),
        required("sha256"),
        required("requested_by"),
        required("disclosure_version"),
        BODY,  # with the report's content (``document``)
    ),
    key=("number",),
)

# ------------------------------------------------------------------ people (migration 0003)

PERSON_ROLES = Table(
    "person_roles",
    (
        required("subject"),
        required("event_id"),
        required("person_id"),
        optional("person_name"),
        required("role"),
        required("held_from", TIME),
        optional("held_until", TIME),
        required("recorded_at", TIME),
        required("region"),
        required("sector"),
        optional("subject_type"),
        BODY,
    ),
    key=("subject", "event_id"),
)

_PERSON_COLUMNS = (
    required("person"),  # the pseudonym
    required("version", INT),
    optional("person_id"),
    optional("person_name"),
    required("changed_at", TIME),
    required("active_entries", INT),
    required("policy_version"),
    BODY,
)
PERSON_RECORDS = Table("person_records", _PERSON_COLUMNS, key=("person", "version"))
PERSON_STATE = Table("person_state", _PERSON_COLUMNS, key=("person",), latest="version")

# ------------------------------------------------------------------ cases (migration 0004)

_CASE_COLUMNS = (
    required("case_id"),
    required("revision", INT),
    required("case_key"),  # the subject, or an area-wide alert's dedup key
    optional("subject"),
    required("queue"),
    optional("owner"),
    required("status"),
    required("opened_at", TIME),
    required("due_at", TIME),
    optional("escalated_at", TIME),
    optional("closed_at", TIME),
    required("region"),
    required("sector"),
    BODY,
)
CASE_VERSIONS = Table("case_versions", _CASE_COLUMNS, key=("case_id", "revision"))
CASE_STATE = Table("case_state", _CASE_COLUMNS, key=("case_id",), latest="revision")
# ------------------------------------------------------------------ seed 六 (migration 0005)

SECTOR_EVALUATIONS = Table(
    "sector_evaluations",
    (
        required("subject"),
        required("event_id"),
        required("sector"),
        required("level"),
        required("evaluator"),
        required("grade"),
        required("evaluated_at", TIME),
        optional("valid_until", TIME),
        required("region"),
        optional("reference"),
        BODY,
    ),
    key=("subject", "event_id"),
)

ALL_TABLES: tuple[Table, ...] = (
    ENFORCEMENT_EVENTS,
    COMPLAINTS,
    IOT_READINGS,
    TIER_CHANGES,
    TIER_STATE,
    LIST_CHANGES,
    LIST_STATE,
    WORKFLOW_NOTICES,
    ALERT_SNAPSHOTS,
    PUBLICATIONS,
    PUBLICATION_STATE,
    SPOTCHECK_PLANS,
    CREDIT_REPORTS,
    PERSON_ROLES,
    PERSON_RECORDS,
    PERSON_STATE,
    CASE_VERSIONS,
    CASE_STATE,
    SECTOR_EVALUATIONS,
)
TABLES_BY_NAME = {table.name: table for table in ALL_TABLES}
