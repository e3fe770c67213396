"""What our replacements of Faust's data path rely on inside Faust, aiokafka and aiohttp.

The modules of ``streams/runtime/`` (and ``streams/http/web_access.py``,
``creditwatch/commands/worker.py``) replace Faust methods, read private
attributes, inspect a coroutine's frame and mirror Faust code they bypass.
None of that is Faust's public API: a release may change it without notice,
and a replacement that still runs but no longer fits would lose records or
commits quietly. So every such place is declared here once, in
:data:`RELIANCES`, with a fingerprint of the code as it was checked, and the
versions checked are :data:`CHECKED_VERSIONS`. Checked means: someone read
the target's code against what we rely on in it, and the tests of the module
using it passed.

:func:`check_runtime` compares both with what is installed; the worker runs it
when it starts and refuses to run on a mismatch (:class:`UncheckedRuntime`).
There is no switch to run anyway: a mismatch comes from a build (a new
dependency resolved), never from operations, and the remedy is the one
described in ``docs/development.md`` ("Faust replacements"): re-check each
named target, run ``tests/streams/test_runtime_compat.py`` and the tests of
its replacement, then record the new versions and fingerprints
(``python -m streams.runtime.compat`` prints them).

aiohttp is fingerprinted but not version-pinned: it ships security releases
often, and the one method we replace there is checked by its fingerprint.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

#: The versions the replacements were checked against (faust-streaming 0.15.3,
#: mode-streaming 0.7.1 and aiokafka 0.14.0, with aiohttp 3.14.5 for its fingerprint).
CHECKED_VERSIONS: dict[str, tuple[str, ...]] = {
    "faust-streaming": ("0.15.3",),
    "mode-streaming": ("0.7.1",),
    "aiokafka": ("0.14.0",),
}

#: What a failed check says first, and where it sends the reader last.
HEADLINE = (
    "the worker's replacements of Faust internals (streams/runtime/) do not fit the "
    "installed libraries:"
)
REMEDY = (
    "Run the runtime compatibility tests (tests/streams/test_runtime_compat.py) and "
    "update streams/runtime/compat.py (docs/development.md, 'Faust replacements')."
)


@dataclass(frozen=True)
class Reliance:
    """One piece of someone else's code that ours depends on, as checked."""

    #: ``module:Qualified.name``; a method we replace resolves to the original.
    target: str
    #: Our file that depends on it.
    used_by: str
    #: What we rely on: what to re-check when the target changes.
    relies_on: str
    #: :func:`fingerprint` of the target's source when it was checked.
    fingerprint: str


FAUST_CONSUMER = "faust.transport.consumer:Consumer"
AIOKAFKA_THREAD = "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread"

RELIANCES: tuple[Reliance, ...] = (
    # streams/runtime/inline_delivery.py
    Reliance(
        f"{FAUST_CONSUMER}.wait_first",
        "streams/runtime/inline_delivery.py",
        "replaced: mode's Service.wait_first, called as (self, *coros, timeout=), races "
        "awaitables against the service's stopped and crashed events",
        "19fc80e7f3167aed",
    ),
    Reliance(
        f"{FAUST_CONSUMER}._drain_messages",
        "streams/runtime/inline_delivery.py",
        "delivers each message as wait_first(callback(message), self.suspend_flow.wait()) "
        "and ignores the result: the pair _is_delivery recognises",
        "292ceca32fb5f90c",
    ),
    Reliance(
        "mode.utils.locks:Event.wait",
        "streams/runtime/inline_delivery.py",
        "frame inspected: suspend_flow.wait() is a coroutine of this method, so its "
        "frame's local 'self' is the consumer's suspend_flow event",
        "45ede8650a086e5e",
    ),
    # streams/runtime/fetch_wait.py
    Reliance(
        f"{AIOKAFKA_THREAD}._create_worker_consumer",
        "streams/runtime/fetch_wait.py",
        "replaced: (self, transport) returns the worker's aiokafka.AIOKafkaConsumer, "
        "built with a fixed fetch_max_wait_ms",
        "80377d303e50d401",
    ),
    Reliance(
        f"{AIOKAFKA_THREAD}._create_consumer",
        "streams/runtime/fetch_wait.py",
        "Faust builds a worker's consumer by calling self._create_worker_consumer(transport)",
        "447aff139fb0b0a6",
    ),
    Reliance(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start",
        "streams/runtime/fetch_wait.py",
        "private attributes: start() hands self._fetch_max_wait_ms and self._consumer_timeout "
        "(the fetch loop's longest sleep) to the Fetcher it builds, so setting them after the "
        "constructor still reaches every fetch; it keeps that Fetcher as self._fetcher",
        "98fe0184c169ab2e",
    ),
    Reliance(
        f"{AIOKAFKA_THREAD}.on_start",
        "streams/runtime/fetch_wait.py",
        "starts the consumer it built by awaiting self._consumer.start(), looked up on the "
        "instance, so a start wrapped there runs",
        "1e2e890ab3b51f83",
    ),
    Reliance(
        "aiokafka.consumer.fetcher:Fetcher._fetch_requests_routine",
        "streams/runtime/fetch_wait.py",
        "runs each fetch as self._proc_fetch_request(assignment, node_id, request), looked "
        "up on the instance, and sends the next only after it returns",
        "b13beb2053c05e40",
    ),
    Reliance(
        "aiokafka.consumer.fetcher:Fetcher._proc_fetch_request",
        "streams/runtime/fetch_wait.py",
        "returns True exactly when the fetch added records to the buffer",
        "d86f4f9b7001c1f8",
    ),
    Reliance(
        "aiokafka.consumer.fetcher:Fetcher._get_actions_per_node",
        "streams/runtime/fetch_wait.py",
        "private attribute: builds every FetchRequest with self._fetch_max_wait_ms read then, "
        "so a value set between fetches reaches the next one",
        "ce1105e08135eb32",
    ),
    # streams/runtime/end_offsets.py
    Reliance(
        "faust.tables.recovery:Recovery._build_highwaters",
        "streams/runtime/end_offsets.py",
        "replaced: (self, consumer, tps, destination, title) fills destination with each "
        "partition's end offset - 1 (-1 when empty), which recovery reads up to",
        "a0e62c92172d0c8b",
    ),
    # streams/runtime/fast_recovery.py
    Reliance(
        "faust.stores.memory:Store",
        "streams/runtime/fast_recovery.py",
        "subclassed: values live in self.data, each key's partition in self._key_partition "
        "(cleared by on_recovery_completed; streams/runtime/tables.py sets it on a direct "
        "write, which the memory store does not), and persisted_offset is the only offset hook",
        "e66d4ab2240562f7",
    ),
    Reliance(
        "faust.tables.recovery:Recovery._add",
        "streams/runtime/fast_recovery.py",
        "recovery of a changelog partition starts after the store's persisted_offset(tp)",
        "a3d6ad09527ff832",
    ),
    Reliance(
        "faust.tables.base:Collection.on_rebalance",
        "streams/runtime/fast_recovery.py",
        "a table calls its store's on_rebalance(assigned, revoked, newly_assigned, "
        "generation_id) before recovery, where FastRecoveryStore reads its changelog",
        "fa0ae79d6f5c5fcb",
    ),
    Reliance(
        "faust.tables.manager:TableManager.on_rebalance",
        "streams/runtime/fast_recovery.py",
        "every table's on_rebalance is awaited before the recovery's, in the same "
        "rebalance: the first FastRecoveryStore called reads the changelogs of all of them",
        "5a5760595a47ee99",
    ),
    # streams/runtime/batches.py
    Reliance(
        f"{FAUST_CONSUMER}._new_offset",
        "streams/runtime/batches.py",
        "replaced: (self, tp) returns the next offset to commit or None, from "
        "self._acked[tp]; _not_past_held reads self._committed_offset and self._acked_index",
        "66fff896254f9b84",
    ),
    Reliance(
        f"{FAUST_CONSUMER}.ack",
        "streams/runtime/batches.py",
        "private attribute: an acknowledged offset is added to self._acked_index[tp] "
        "(how _not_past_held sees a held record handled)",
        "8c9d7f355ca61f50",
    ),
    Reliance(
        f"{FAUST_CONSUMER}.track_message",
        "streams/runtime/batches.py",
        "private attribute: a pending message is one in self._unacked_messages, which "
        "_release discards from when a batch fails",
        "bd5ed0a7fb599991",
    ),
    Reliance(
        "faust.streams:Stream._py_aiter",
        "streams/runtime/batches.py",
        "mirrored by each_batch: skip events of an older generation or while flow is off, "
        "track acking topics' messages, ack after handling, call on_message_out (check "
        "faust/_cython/streams.pyx too, which runs in its place)",
        "751e12530eb1b17f",
    ),
    Reliance(
        "faust.streams:Stream.add_processor",
        "streams/runtime/batches.py",
        "private attribute: a stream's processors live in self._processors and are "
        "called with each value",
        "c84383d328ddaa17",
    ),
    Reliance(
        "faust.channels:Channel.__anext__",
        "streams/runtime/batches.py",
        "bypassed: an iterator channel's next event is just self.queue.get(), so "
        "each_batch reads the queue itself",
        "d5295d883e268982",
    ),
    # streams/runtime/channels.py
    Reliance(
        f"{FAUST_CONSUMER}._handle_attached",
        "streams/runtime/channels.py",
        "replaced: (self, commit_offsets) runs just before the commit of commit_offsets",
        "a234e0d217842fdb",
    ),
    Reliance(
        f"{FAUST_CONSUMER}._commit_tps",
        "streams/runtime/channels.py",
        "awaits _handle_attached before committing and crashes the worker instead of "
        "committing on a ProducerSendError",
        "3f541beaeb56ccd7",
    ),
    Reliance(
        "faust.transport.drivers.aiokafka:Producer.send",
        "streams/runtime/channels.py",
        "(topic, key, value, partition, timestamp, headers) returns aiokafka's delivery "
        "future; aiokafka's error is the ProducerSendError's __cause__",
        "e87f08d4e6c7711b",
    ),
    # streams/runtime/tables.py
    Reliance(
        "faust.streams:current_event",
        "streams/runtime/tables.py",
        "private attribute: the current event is a weakref in faust.streams._current_event, "
        "which write_through sets to the key's owner",
        "3de913a78d85d158",
    ),
    Reliance(
        "faust.stores.rocksdb:Store._set",
        "streams/runtime/tables.py",
        "a RocksDB store puts a key in the partition of current_event()",
        "28bfcd3884f22543",
    ),
    Reliance(
        "faust.stores.rocksdb:Store._contains",
        "streams/runtime/tables.py",
        "a RocksDB store looks a key up in the partition of current_event()",
        "f77828c36ca192e1",
    ),
    Reliance(
        "faust.tables.table:Table.on_key_set",
        "streams/runtime/tables.py",
        "bypassed by write_through: setting a key sends its changelog record and does "
        "nothing else we use (key TTLs, sensors)",
        "047c8530bd74efdc",
    ),
    Reliance(
        "faust.tables.base:Collection._on_changelog_sent",
        "streams/runtime/tables.py",
        "mirrored by write_through: a delivered changelog record sets the store's "
        "persisted offset (outside transactions)",
        "25fd20c92d0d80b2",
    ),
    # streams/runtime/partitions.py (re-grading lists one partition of a table)
    Reliance(
        "faust.stores.rocksdb:Store._visible_keys",
        "streams/runtime/partitions.py",
        "private attributes: a RocksDB store keeps one database per partition in self._dbs, "
        "and _visible_keys(db) yields its keys without the offset key; a memory store "
        "keeps each key's partition in _key_partition (faust.stores.memory:Store above)",
        "cc61ace996c52286",
    ),
    # streams/runtime/faust_logging.py
    Reliance(
        f"{AIOKAFKA_THREAD}._log_slow_processing",
        "streams/runtime/faust_logging.py",
        "a stall report is one log.error record: the report's text (then its causes) "
        "with the partition as the first argument",
        "45f2431c61e3608d",
    ),
    # streams/http/web_access.py
    Reliance(
        "aiohttp.web_protocol:RequestHandler.handle_error",
        "streams/http/web_access.py",
        "replaced: (self, request, status=500, exc=None, message=None) answers a failed "
        "request; request.writer.output_size > 0 means an answer has started",
        "838648c4130b824b",
    ),
    Reliance(
        "aiohttp.web_protocol:RequestHandler._make_error_handler",
        "streams/http/web_access.py",
        "a request the parser refuses reaches handle_error with its HttpProcessingError",
        "a0cfc9e815854540",
    ),
    # creditwatch/commands/worker.py
    Reliance(
        "faust.worker:Worker._setup_spinner_handler",
        "creditwatch/commands/worker.py",
        "overridden: (self, logger, level) is where the spinner's handler is added and "
        "the root logger set to DEBUG",
        "8073473ef0002688",
    ),
    # streams/runtime/channels.py (Outbox.send_in_batches: table changelogs in batches)
    Reliance(
        "faust.transport.drivers.aiokafka:Producer._ensure_producer",
        "streams/runtime/channels.py",
        "returns the started aiokafka.AIOKafkaProducer the app's producer sends through",
        "9bc6e296ff77e57f",
    ),
    Reliance(
        "aiokafka.producer.message_accumulator:MessageAccumulator.add_batch",
        "streams/runtime/channels.py",
        "a batch is queued behind the partition's pending batches (after they drain), so "
        "records sent before it stay before it in the partition; a later send() to the "
        "partition goes into it or after it",
        "14efe088042b2f31",
    ),
    # streams/runtime/uncommitted_seek.py
    Reliance(
        f"{AIOKAFKA_THREAD}.seek_to_committed",
        "streams/runtime/uncommitted_seek.py",
        "replaced: (self) runs the aiokafka consumer's seek_to_committed in the consumer "
        "thread and returns its {partition: committed offset or None}",
        "3335d0ac3af169c7",
    ),
    Reliance(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.seek_to_committed",
        "streams/runtime/uncommitted_seek.py",
        "seeks only a partition whose committed offset is above 0 and returns every "
        "assigned partition's committed offset, None where there is none",
        "f2ed3a5d05b7664e",
    ),
    Reliance(
        f"{AIOKAFKA_THREAD}.seek_to_beginning",
        "streams/runtime/uncommitted_seek.py",
        "(self, *partitions) runs the aiokafka consumer's seek_to_beginning in its thread",
        "7b1be91a2bb439c0",
    ),
    Reliance(
        "faust.tables.recovery:Recovery._resume_streams",
        "streams/runtime/uncommitted_seek.py",
        "after a rebalance's recovery, resumes the stream partitions and seeks them through "
        "consumer.perform_seek() (seek_to_committed) before the agents get records again",
        "5d134dc4251d1841",
    ),
    Reliance(
        f"{FAUST_CONSUMER}.perform_seek",
        "streams/runtime/uncommitted_seek.py",
        "seeks by awaiting self.seek_to_committed()",
        "d3e8527bdb719700",
    ),
    Reliance(
        "faust.transport.consumer:ThreadDelegateConsumer.seek_to_committed",
        "streams/runtime/uncommitted_seek.py",
        "delegates to self._thread.seek_to_committed(), the consumer thread's method",
        "953c48a641a566e2",
    ),
    # topics/validation.py (record: input records filled without Faust's __init__)
    Reliance(
        "faust.models.record:Record._BUILD_init",
        "topics/validation.py",
        "a record's __init__ stores each field through its descriptor and sets "
        "__evaluated_fields__ = set(); with no coercion, tags, validation or "
        "__post_init__ that is the instance record() builds",
        "84acf92a69794306",
    ),
    Reliance(
        "faust.models.fields:FieldDescriptor.__set__",
        "topics/validation.py",
        "stores the value as given (instance.__dict__[field]) when the field has no "
        "coercion, so record() may fill __dict__ directly",
        "347f1fb1f97a51bb",
    ),
)


class UncheckedRuntime(Exception):
    """The installed Faust (or aiokafka, aiohttp) is not what the replacements were checked on."""


def resolve(target: str) -> Any:
    """The object ``module:Qualified.name`` names; for a method we replaced, the original."""
    module, _, path = target.partition(":")
    found: Any = importlib.import_module(module)
    for name in path.split("."):
        found = getattr(found, name)
    found = getattr(found, "creditwatch_original", found)
    return found.fget if isinstance(found, property) else found


def fingerprint(code: Any) -> str:
    """A digest of ``code``'s source, blind to indentation, blank lines and comment lines."""
    lines = textwrap.dedent(inspect.getsource(code)).splitlines()
    kept = [line.rstrip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:16]


def current_fingerprint(reliance: Reliance) -> str:
    """The installed target's fingerprint; raises if it cannot be found or read."""
    return fingerprint(resolve(reliance.target))


def version_problems(version: Callable[[str], str] | None = None) -> list[str]:
    """Each checked distribution whose installed version is not one checked."""
    version = version or metadata.version
    problems = []
    for distribution, checked in CHECKED_VERSIONS.items():
        try:
            found = version(distribution)
        except metadata.PackageNotFoundError:
            found = "none installed"
        if found not in checked:
            problems.append(
                f"they were checked against {distribution} {', '.join(checked)}; found {found}."
            )
    return problems


def fingerprint_problems(reliances: Iterable[Reliance] = RELIANCES) -> list[str]:
    """Each target that is not the code it was checked as, saying what to re-check."""
    problems = []
    for reliance in reliances:
        try:
            found = current_fingerprint(reliance)
        except (ImportError, AttributeError, OSError, TypeError) as exc:
            problems.append(
                f"{reliance.target} (relied on by {reliance.used_by}) cannot be checked: "
                f"{type(exc).__name__}: {exc}. Re-check: {reliance.relies_on}."
            )
            continue
        if found != reliance.fingerprint:
            problems.append(
                f"{reliance.target} (relied on by {reliance.used_by}) is not the code it was "
                f"checked as (fingerprint {found}, checked {reliance.fingerprint}). "
                f"Re-check: {reliance.relies_on}."
            )
    return problems


def check_runtime(
    version: Callable[[str], str] | None = None, reliances: Iterable[Reliance] = RELIANCES
) -> None:
    """Raise :class:`UncheckedRuntime`, saying what and why, unless the installed
    libraries are the versions and the code the replacements were checked against."""
    problems = version_problems(version) + fingerprint_problems(reliances)
    if problems:
        raise UncheckedRuntime(
            "\n".join([HEADLINE, *(f"- {problem}" for problem in problems), REMEDY])
        )


def main() -> int:
    """Print every target's installed fingerprint, marking those that differ."""
    for problem in version_problems():
        print(problem)
    for reliance in RELIANCES:
        try:
            found = current_fingerprint(reliance)
        except (ImportError, AttributeError, OSError, TypeError) as exc:
            found = f"unreadable ({type(exc).__name__}: {exc})"
        mark = "  " if found == reliance.fingerprint else "* "
        print(f"{mark}{reliance.target}  {found}  (checked {reliance.fingerprint})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
