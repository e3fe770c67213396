"""The public contracts that ship JSON Schema files, and how those files are written.

Department systems subscribe to these topics (design: "department systems …
subscribe to tier changes and list changes"), so each gets a schema file in
``topics/schemas/`` named after its topic. The files are generated from the
records by ``creditwatch schemas`` and committed, so a reviewer sees a contract
change as a diff of the schema, and ``creditwatch schemas --check`` fails when
a record changed without its schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from topics.catalogue import (
    REGISTRY_MEMBERSHIPS,
    REGISTRY_ROLES,
    RISK_ALERTS,
    RISK_DLQ,
    RISK_LIST_CHANGES,
    RISK_PERSON_RECORDS,
    RISK_PUBLICATIONS,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
    SECTOR_EVALUATIONS,
    TopicSpec,
)
from topics.evaluations import SectorEvaluation
from topics.json_schema import record_schema
from topics.lists import ListChange
from topics.memberships import Membership
from topics.persons import PersonCreditRecord
from topics.publications import Publication
from topics.risk import Alert, DeadLetter, TierChange
from topics.roles import RoleAssignment
from topics.workflow import WorkflowNotice

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SUFFIX = ".schema.json"


@dataclass(frozen=True, slots=True)
class ContractSchema:
    topic: TopicSpec
    record: type[faust.Record]
    key: str  # what the Kafka key is, for the schema's description

    @property
    def file_name(self) -> str:
        return self.topic.name + SUFFIX

    def schema(self) -> dict[str, Any]:
        retention = "compacted: the latest per key" if self.topic.compacted else "not compacted"
        description = (
            f"The value of a message on Kafka topic {self.topic.name} ({retention}); "
            f"the key is {self.key}. UTF-8 JSON with no framework envelope; "
            "consumers must ignore properties they do not know. See docs/contracts.md."
        )
        return record_schema(self.record, title=self.topic.name, description=description)

    def render(self) -> str:
        """The file's text: stable key order, two-space indent, trailing newline."""
        return json.dumps(self.schema(), indent=2, ensure_ascii=False) + "\n"


PUBLIC_SCHEMAS: tuple[ContractSchema, ...] = (
    ContractSchema(RISK_TIER_CHANGES, TierChange, "the subject's USCC"),
    ContractSchema(
        RISK_LIST_CHANGES,
        ListChange,
        'the subject\'s USCC and the list, "{subject}|{list}" '
        '(e.g. "91130102MA0EXAMPL1|joint_punishment")',
    ),
    ContractSchema(
        RISK_ALERTS,
        Alert,
        "the subject's USCC; for an area-wide alert (subject null) its dedup key",
    ),
    ContractSchema(RISK_WORKFLOW, WorkflowNotice, "the subject's USCC"),
    # The public disclosure site and departments read what is published now.
    ContractSchema(
        RISK_PUBLICATIONS,
        Publication,
        "the subject's USCC and the record's event id, \"{subject}|{event_id}\"",
    ),
    # Seed 十一: departments check a person's measures (e.g. before appointing an officer).
    ContractSchema(
        RISK_PERSON_RECORDS,
        PersonCreditRecord,
        "the person's pseudonym (32 hex digits, a keyed HMAC of the person's id)",
    ),
    # The input contracts new producers (the register, sector authorities) write against.
    ContractSchema(REGISTRY_ROLES, RoleAssignment, "the subject's USCC"),
    # Seed 十八: associations (or the registry of social organisations) write their members.
    ContractSchema(
        REGISTRY_MEMBERSHIPS,
        Membership,
        "the association's id and the member's USCC, \"{association}|{subject}\"",
    ),
    ContractSchema(SECTOR_EVALUATIONS, SectorEvaluation, "the subject's USCC"),
    # Departments read why a record of theirs was rejected.
    ContractSchema(
        RISK_DLQ,
        DeadLetter,
        "the original message's key, or none when it is larger than a dead letter copies",
    ),
)


def generated_files() -> dict[str, str]:
    """File name -> the text the records generate, for every public contract."""
    return {contract.file_name: contract.render() for contract in PUBLIC_SCHEMAS}


def stale_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Schema files in ``directory`` that are missing, differ, or no longer generated."""
    expected = generated_files()
    stale = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text("utf-8") != text
    ]
    present = {path.name for path in directory.glob("*" + SUFFIX)} if directory.is_dir() else set()
    return sorted(stale + [name for name in present if name not in expected])


def write_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Write every schema file whose text changed; return the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated_files().items():
        path = directory / name
        if not path.is_file() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
            written.append(name)
    return written
