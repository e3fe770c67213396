"""Sending every output record, with its metrics: one way for every agent (:class:`Publisher`)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from faust.types import EventT, RecordMetadata

from streams import metrics
from streams.runtime.channels import Channels, Outbox
from topics.audit import AuditRequest, encode_request, new_request
from topics.cases import CaseCommand, case_key_of, encode_case_command
from topics.decode import Rejected
from topics.internal import (
    Command,
    ComplaintCount,
    CrossSectorCandidate,
    LinkageMessage,
    PeerUpdate,
    PersonFact,
    encode_command,
    encode_complaint_counts,
    encode_cross_sector_candidate,
    encode_linkage_message,
    encode_peer_updates,
    encode_person_fact,
)
from topics.lists import ListChange, list_change_key
from topics.persons import PersonCreditRecord
from topics.policy_versions import PolicyVersion
from topics.publications import Publication, publication_key
from topics.risk import Alert, DeadLetter, TierChange, dead_letter_key
from topics.risk import dead_letter as build_dead_letter
from topics.workflow import WorkflowNotice

#: The dead-letter reason of an internal or output record this version cannot read
#: (a bug, or a version skew between workers); not an input-validation ``Reason``.
BAD_INTERNAL_MESSAGE = "bad_internal_message"


def dead_letter(event: EventT, rejected: Rejected) -> DeadLetter:
    """The dead letter of an event's message: bounded whatever the message's size."""
    message = event.message
    return build_dead_letter(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        rejected.reason,
        rejected.detail,
        rejected.field,
    )


def alert_key(subject: str | None, dedup_key: str) -> bytes:
    """Alerts are keyed by subject; area-wide ones by their dedup key."""
    return (subject or dedup_key).encode()


class Publisher:
    """Every kind of record the agents write, each to its topic, keyed and counted.

    A new output is a method here: its topic from :class:`Channels`, its key,
    its metric.
    """

    def __init__(self, outbox: Outbox, channels: Channels) -> None:
        self.outbox, self.channels = outbox, channels

    async def dead_letter(self, event: EventT, rejected: Rejected) -> None:
        """Keep a record nobody can process, with the reason: whole, or if it is too large
        to copy, an excerpt, its size and digest, and where the original is."""
        message = event.message
        letter = dead_letter(event, rejected)
        await self.outbox.send(
            self.channels.dead_letters, dead_letter_key(message.key), letter.dumps()
        )
        metrics.dead_letters.labels(message.topic, rejected.reason).inc()

    async def alert(self, alert: Alert) -> None:
        """Hand a detector's alert to the alert manager (streams/agents/alert_manager.py)."""
        key = alert_key(alert.subject, alert.dedup_key)
        await self.outbox.send(self.channels.alert_candidates, key, alert.dumps())

    async def command(self, command: Command, subject: str | None, dedup_key: str) -> None:
        """Queue an action on an alert for the alert manager that owns it."""
        key = alert_key(subject, dedup_key)
        await self.outbox.send(self.channels.alert_candidates, key, encode_command(command))

    async def alert_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        """Publish one lifecycle snapshot on ``risk.alerts``, with its metrics."""
        key = alert_key(snapshot["subject"], snapshot["dedup_key"])
        await self.outbox.send(self.channels.alerts, key, orjson.dumps(snapshot))
        if snapshot["event"] == "opened":
            labels = (snapshot[f] for f in ("kind", "severity", "region", "sector"))
            metrics.alerts_raised.labels(*labels).inc()
            delay = time.time() - datetime.fromisoformat(snapshot["created_at"]).timestamp()
            metrics.event_to_alert.labels(snapshot["kind"]).observe(delay)

    async def tier_change(self, change: TierChange) -> None:
        await self.outbox.send(self.channels.tier_changes, change.subject.encode(), change.dumps())
        metrics.tier_changes.labels(change.previous_tier or "none", change.tier).inc()

    async def list_change(self, change: ListChange) -> None:
        key = list_change_key(change.subject, change.list).encode()
        await self.outbox.send(self.channels.list_changes, key, change.dumps())
        metrics.list_changes.labels(change.list, change.action).inc()

    async def notice(self, notice: WorkflowNotice) -> None:
        await self.outbox.send(
            self.channels.workflow_notices, notice.subject.encode(), notice.dumps()
        )
        metrics.workflow_notices.labels(notice.kind).inc()

    async def publication(self, publication: Publication) -> None:
        """A decision made public (seed 十五 双公示), for the record store and the public site."""
        key = publication_key(publication.subject, publication.event_id).encode()
        await self.outbox.send(self.channels.publications, key, publication.dumps())

    async def person_fact(self, person: str, fact: PersonFact) -> None:
        """To the person-record agent that owns the person (``person``: the pseudonym)."""
        value = encode_person_fact(fact)
        await self.outbox.send(self.channels.person_facts, person.encode(), value)

    async def person_record(self, record: PersonCreditRecord) -> None:
        """A responsible person's credit record, changed (seed 十一), keyed by pseudonym."""
        await self.outbox.send(self.channels.person_records, record.person.encode(), record.dumps())

    async def linkage(self, group: str, message: LinkageMessage) -> None:
        """To the cross-sector agent that owns linkage group ``group``."""
        value = encode_linkage_message(message)
        await self.outbox.send(self.channels.adverse_signals, group.encode(), value)

    async def cross_sector_candidate(self, candidate: CrossSectorCandidate) -> None:
        """To the department-mix agent that owns the candidate's sector."""
        value = encode_cross_sector_candidate(candidate)
        channel = self.channels.cross_sector_candidates
        await self.outbox.send(channel, candidate.sector.encode(), value)

    async def audit(
        self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
    ) -> AuditRequest:
        """Audit an action taken now, and wait until the broker has the request; returns
        it (its id names the entry).

        Await it before answering a state-changing request, so an action is never
        reported done without its audit entry being durable. The audit agent
        chains it onto the trail shortly after (streams/agents/audit.py).
        """
        request = new_request(actor, action, target, details)
        topic, value = self.channels.audit_requests, encode_request(request)
        delivery = await topic.send(key=request.actor.encode(), value=value, force=True)
        await delivery
        return request

    async def case(self, key: str, value: bytes) -> None:
        """A changed case (issue 17), to ``risk.cases``, keyed by its case key."""
        await self.outbox.send(self.channels.cases, key.encode(), value)

    async def case_command(self, command: CaseCommand) -> None:
        """Queue an action on a case for the case agent that owns its key."""
        key = case_key_of(command.case_id).encode()
        await self.outbox.send(self.channels.case_commands, key, encode_case_command(command))

    async def audit_in_batch(
        self, actor: str, action: str, target: str, details: Mapping[str, Any]
    ) -> None:
        """Audit what an agent did while handling a batch: the outbox delivers it before
        the batch's input is committed, so no wait per entry (:meth:`audit` waits)."""
        request = new_request(actor, action, target, details)
        value = encode_request(request)
        await self.outbox.send(self.channels.audit_requests, request.actor.encode(), value)

    async def policy_version(self, record: PolicyVersion) -> None:
        """A policy version proposed or approved, to ``risk.policy-versions``; returns once
        the broker has it (every worker follows the topic: policy_follow.py)."""
        key, value = record.proposal_id.encode(), record.dumps()
        delivery = await self.channels.policy_versions.send(key=key, value=value, force=True)
        await delivery

    async def credit_report(self, key: bytes, value: bytes) -> RecordMetadata:
        """An issued credit report, to ``risk.credit-reports``; returns once the broker has
        it (where it is, the report's store row names)."""
        delivery = await self.channels.credit_reports.send(key=key, value=value, force=True)
        metadata: RecordMetadata = await delivery
        return metadata

    async def filing(self, subject: str, value: bytes) -> RecordMetadata:
        """A record filed through the API (a subject's objection or repair application, an
        association's report) to ``enforcement.events``, as a department would send it;
        returns once the broker has it, so the caller may answer "accepted"."""
        delivery = await self.channels.filings.send(key=subject.encode(), value=value, force=True)
        metadata: RecordMetadata = await delivery
        return metadata

    async def registration(self, registration_id: str, value: bytes) -> RecordMetadata:
        """A voluntary registration's state, to ``risk.registrations``; returns once durable."""
        delivery = await self.channels.registrations.send(
            key=registration_id.encode(), value=value, force=True
        )
        metadata: RecordMetadata = await delivery
        return metadata

    async def peer_updates(self, group: str, updates: Sequence[PeerUpdate]) -> None:
        """To the peer-outlier agent that owns peer group ``group``."""
        value = encode_peer_updates(updates)
        await self.outbox.send(self.channels.peer_feature_changes, group.encode(), value)

    async def complaint_counts(self, category: str, counts: Sequence[ComplaintCount]) -> None:
        """To the cross-region agent that owns complaint category ``category``."""
        value = encode_complaint_counts(counts)
        await self.outbox.send(self.channels.complaint_counts, category.encode(), value)
