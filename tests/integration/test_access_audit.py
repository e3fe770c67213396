"""Issue 4 access control and audit trail on the real embedded broker, Redis and a worker.

Tokens are made with the real ``creditwatch token`` command (in process) and
checked with the same :func:`streams.http.access.authenticate` the web API calls;
audit requests go through the worker's chaining agent to ``risk.audit`` and
``creditwatch audit verify`` reads them back. The tests run in file order: the
last one forges a record, after which the trail no longer verifies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio as aioredis
from kafka import KafkaProducer

from creditwatch import admin_io
from creditwatch.cli import main
from detectors.policy import load_policy
from streams.http.access import (
    Principal,
    Unauthenticated,
    authenticate,
    present_profile,
    token_hash,
)
from streams.http.access_keys import TOKENS
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from topics.access import Role
from topics.audit import AuditRecord, encode_record, new_request, parse_audit_record
from topics.audit_chain import record_hash, verify

pytestmark = pytest.mark.integration


@pytest.fixture
def cache(pipeline: Pipeline) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    yield client
    client.close()


def cli(pipeline: Pipeline, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    connection = ["--bootstrap", pipeline.stack.bootstrap]
    if args[0] == "token" and args[1] != "list":
        connection += ["--redis", pipeline.stack.redis_url]
    code = main([*args, *connection])
    out, err = capsys.readouterr()
    return code, out + err


def login(pipeline: Pipeline, raw_token: str) -> Principal:
    async def attempt() -> Principal:
        client = aioredis.Redis.from_url(pipeline.stack.redis_url)
        try:
            return await authenticate(f"Bearer {raw_token}", client)
        finally:
            await client.aclose()

    return asyncio.run(attempt())


def create_token(pipeline: Pipeline, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(
        [
            "token",
            "create",
            *args,
            "--bootstrap",
            pipeline.stack.bootstrap,
            "--redis",
            pipeline.stack.redis_url,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "shown only once" in err
    return out.strip()


def audit_trail(pipeline: Pipeline) -> list[AuditRecord]:
    messages = admin_io.read_topic(pipeline.stack.bootstrap, "risk.audit")
    return [parse_audit_record(m.value) for m in messages]


def test_a_cli_token_authenticates_until_it_is_revoked(
    pipeline: Pipeline, cache: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = create_token(
        pipeline, capsys, "--name", "wang", "--role", "inspector", "--county", "130102"
    )
    stored = cache.hget(TOKENS, token_hash(raw))
    assert stored is not None and raw.encode() not in stored
    assert login(pipeline, raw) == Principal("wang", Role.INSPECTOR, frozenset({"130102"}))

    code, output = cli(pipeline, "token", "list", capsys=capsys)
    assert code == 0 and "wang" in output and "130102 / all sectors" in output
    assert token_hash(raw) not in output  # never the whole hash

    code, output = cli(
        pipeline, "token", "create", "--name", "wang", "--role", "centre", capsys=capsys
    )
    assert code == 2 and "an active token named 'wang' exists" in output

    code, output = cli(pipeline, "token", "revoke", "--name", "wang", capsys=capsys)
    assert code == 0, output
    with pytest.raises(Unauthenticated, match="token revoked"):
        login(pipeline, raw)
    code, output = cli(pipeline, "token", "revoke", "--name", "wang", capsys=capsys)
    assert code == 2 and "no active token named 'wang'" in output


def test_an_inspector_reads_only_alerts_of_their_county(
    pipeline: Pipeline, cache: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = create_token(
        pipeline, capsys, "--name", "li", "--role", "inspector", "--county", "130102"
    )
    inspector = login(pipeline, raw)
    own, other = make_uscc(4101), make_uscc(4102)
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        for subject, region in ((own, "130102"), (other, "130104")):
            record = enforcement(
                subject,
                f"acc-{subject}",
                "court_dishonest_debtor",
                5,
                region=region,
                legal_rep_id="LR0001234789",
            )
            producer.send("enforcement.events", key=subject.encode(), value=orjson.dumps(record))
        producer.flush()

    def first_alert(subject: str) -> dict[str, Any] | None:
        ids = cache.zrange(f"cw:subject:{subject}:alerts", 0, 0)
        raw_alert = cache.get(f"cw:alert:{ids[0].decode()}") if ids else None
        return None if raw_alert is None else orjson.loads(raw_alert)

    wait_until(lambda: bool(first_alert(own) and first_alert(other)), 60, "alerts in both counties")
    assert inspector.may_read_alert(first_alert(own) or {})
    assert not inspector.may_read_alert(first_alert(other) or {})  # the API answers 404

    wait_until(lambda: cache.exists(f"cw:profile:{own}") == 1, 30, "the profile")
    profile = orjson.loads(cache.get(f"cw:profile:{own}") or b"{}")
    assert profile["legal_rep_id"] == "LR0001234789"
    assert present_profile(profile, inspector)["legal_rep_id"] == "L*****9"


def test_a_wiped_redis_gets_its_tokens_back_still_revoked(
    pipeline: Pipeline, cache: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = create_token(pipeline, capsys, "--name", "hq", "--role", "centre")
    revoked = [t for t in cache.hgetall(TOKENS).values() if b'"revoked_at":null' not in t]
    assert revoked  # wang's, from the first test

    cache.flushall()  # a Redis restart without persistence

    # The token agent may re-apply the newest record by itself; the rest come
    # back with the serving view's rebuild from the topics.
    wait_until(lambda: cache.exists("cw:serving:built") == 1, 60, "the rebuild")
    assert login(pipeline, raw).role is Role.CENTRE
    assert sorted(t for t in cache.hgetall(TOKENS).values() if t in revoked) == sorted(revoked)


def test_rebuild_tokens_refills_the_tokens_alone(pipeline: Pipeline, cache: redis.Redis) -> None:
    from streams.serving.tokens import rebuild_tokens

    before = cache.hgetall(TOKENS)
    cache.delete(TOKENS)

    async def rebuild() -> int:
        client = aioredis.Redis.from_url(pipeline.stack.redis_url)
        try:
            return await rebuild_tokens(client, pipeline.stack.bootstrap)
        finally:
            await client.aclose()

    records = admin_io.read_topic(pipeline.stack.bootstrap, "risk.access-tokens")
    # The fixture's test-centre, then wang created and revoked, li, hq.
    assert asyncio.run(rebuild()) == len(records) == 5
    assert cache.hgetall(TOKENS) == before


def test_audit_requests_are_chained_by_the_worker_and_verify(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    with admin_io.producer(pipeline.stack.bootstrap) as client:
        for i in range(5):
            request = new_request("li", "alert.ack", f"alert:a{i}", {"note": f"visit {i}"})
            admin_io.send_audit_request(client, request)

    # The worker's policy in force; the fixture's token, three token creations and one
    # revocation above; then the five acks. The cases the earlier tests' alerts opened
    # (issue 17) are on the same chain, by `system`.
    def ours() -> list[AuditRecord]:
        return [r for r in audit_trail(pipeline) if not r.action.startswith("case.")]

    wait_until(lambda: len(ours()) == 11, 60, "eleven audit records")
    records = audit_trail(pipeline)
    (policy_change,) = [r for r in records if r.action == "policy.change"]
    assert policy_change.actor.startswith("worker:")
    assert policy_change.details["sha256"] == load_policy().digest
    assert policy_change.details["previous_sha256"] is None  # a fresh deployment
    assert [r.action for r in records].count("token.create") == 4
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert all(r.actor == "system" for r in records if r.action.startswith("case."))
    assert all(r.actor.startswith("cli:") for r in ours()[1:6])  # after the policy

    code, output = cli(pipeline, "audit", "verify", capsys=capsys)
    assert code == 0, output
    assert output.startswith(f"OK: {len(records)} records, chain intact")
    code, output = cli(pipeline, "audit", "show", "--last", "1", capsys=capsys)
    assert code == 0 and "alert:a4" in output

    # Records read back, then tampered with in memory, fail verification.
    edited = list(records)
    edited[6] = AuditRecord(**{**edited[6].asdict(), "actor": "centre-1"})
    assert [(p.kind, p.seq) for p in verify(edited)] == [("altered", 7)]
    assert [(p.kind, p.seq) for p in verify(records[:3] + records[4:])] == [("removed", 5)]


def test_a_forged_record_on_the_trail_is_reported(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    records = audit_trail(pipeline)
    head = records[-1]
    # Someone with write access to the topic appends a record they made up: it
    # claims the next seq and links to the head, but its hash covers other content.
    forged = AuditRecord(
        **{**head.asdict(), "seq": head.seq + 1, "prev_hash": head.hash, "target": "alert:zz"}
    )
    with admin_io.producer(pipeline.stack.bootstrap) as client:
        admin_io.send(client, "risk.audit", b"forged", encode_record(forged), 10.0)

    code, output = cli(pipeline, "audit", "verify", capsys=capsys)
    assert code == 1
    assert f"altered: offset {len(records)}, seq {head.seq + 1}: content does not match" in output

    # Recomputing the hash does not help: the next genuine record no longer follows.
    forged.hash = record_hash(forged)
    with admin_io.producer(pipeline.stack.bootstrap) as client:
        admin_io.send(client, "risk.audit", b"forged", encode_record(forged), 10.0)
        admin_io.send_audit_request(client, new_request("li", "alert.ack", "alert:a9"))
    wait_until(lambda: len(audit_trail(pipeline)) == len(records) + 3, 60, "the next record")
    code, output = cli(pipeline, "audit", "verify", capsys=capsys)
    assert code == 1
    assert f"reordered: offset {len(records) + 1}, seq {head.seq + 1}" in output
    assert f"reordered: offset {len(records) + 2}, seq {head.seq + 1}" in output
