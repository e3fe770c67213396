"""Our replacements of Faust's internals, checked against the Faust installed.

``streams/runtime/compat.py`` declares every Faust, mode, aiokafka and aiohttp
internal our code replaces, reads or mirrors, with a fingerprint of its source
as checked. A library upgrade that changes one fails
:func:`test_every_target_is_the_code_it_was_checked_as` naming it and what to
re-check; the worker refuses to start on it too. What to do then:
``docs/development.md``, "Faust replacements".
"""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from faust.transport.consumer import Consumer

from creditwatch.commands.worker import service_worker
from streams.runtime import compat, inline_delivery
from streams.runtime.compat import RELIANCES, Reliance, UncheckedRuntime
from streams.wiring import Wiring

ROOT = Path(__file__).resolve().parents[2]
#: Where our code that runs in a worker lives.
SOURCES = ("streams", "creditwatch")
OURS = ("streams", "creditwatch", "pipeline", "topics", "detectors", "tests")
#: Standard-library modules whose private names we use (argparse._SubParsersAction).
STDLIB_PRIVATE = {"argparse", "os", "sys"}
FRAME_ATTRIBUTES = {"f_locals", "f_globals", "f_back", "cr_frame", "gi_frame", "ag_frame"}


@pytest.mark.parametrize("reliance", RELIANCES, ids=lambda r: r.target)
def test_every_target_is_the_code_it_was_checked_as(reliance: Reliance) -> None:
    found = compat.current_fingerprint(reliance)
    assert found == reliance.fingerprint, (
        f"{reliance.target} changed under {reliance.used_by}. Re-check: {reliance.relies_on}. "
        f"Then run the tests of {reliance.used_by} and record fingerprint {found!r} in "
        "streams/runtime/compat.py."
    )


def test_the_installed_versions_are_the_checked_ones() -> None:
    assert compat.version_problems() == []


def test_a_replaced_method_is_checked_as_faust_wrote_it(worker: Wiring) -> None:
    replaced = cast(Any, Consumer._new_offset)  # replaced when the worker was built
    assert compat.resolve("faust.transport.consumer:Consumer._new_offset") is (
        replaced.creditwatch_original
    )


# -- the refusal -------------------------------------------------------------------------


def installed_or(fake: dict[str, str]) -> Any:
    from importlib import metadata

    return lambda distribution: fake.get(distribution) or metadata.version(distribution)


def test_a_faust_version_not_checked_is_refused_naming_both_versions() -> None:
    with pytest.raises(UncheckedRuntime) as refused:
        compat.check_runtime(version=installed_or({"faust-streaming": "0.16.0"}))
    message = str(refused.value)
    assert "checked against faust-streaming 0.15.3; found 0.16.0" in message
    assert "tests/streams/test_runtime_compat.py" in message
    assert "streams/runtime/compat.py" in message
    assert "aiokafka" not in message  # only what differs


def test_an_uninstalled_library_is_refused() -> None:
    def version(distribution: str) -> str:
        from importlib import metadata

        if distribution == "aiokafka":
            raise metadata.PackageNotFoundError(distribution)
        return metadata.version(distribution)

    with pytest.raises(UncheckedRuntime, match="aiokafka 0.14.0; found none installed"):
        compat.check_runtime(version=version)


def test_changed_code_is_refused_naming_the_target_and_what_to_recheck(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As after an upgrade (or a vendored patch) that keeps the version number."""

    async def _drain_messages(self: Consumer, fetcher: Any) -> None:
        await self.wait_first(self.callback(None))  # no longer raced against suspend_flow

    monkeypatch.setattr(Consumer, "_drain_messages", _drain_messages)
    with pytest.raises(UncheckedRuntime) as refused:
        compat.check_runtime()
    problems = [line for line in str(refused.value).splitlines() if line.startswith("- ")]
    assert len(problems) == 1
    assert "faust.transport.consumer:Consumer._drain_messages" in problems[0]
    assert "streams/runtime/inline_delivery.py" in problems[0]
    assert "suspend_flow.wait()" in problems[0]  # what to re-check


def test_code_that_is_gone_is_refused() -> None:
    gone = Reliance(
        "faust.transport.consumer:Consumer._no_longer_there", "streams/x.py", "it is there", "0"
    )
    with pytest.raises(UncheckedRuntime, match="_no_longer_there .*cannot be checked"):
        compat.check_runtime(reliances=[gone])


def test_a_recorded_fingerprint_that_differs_is_refused() -> None:
    edited = [
        Reliance(r.target, r.used_by, r.relies_on, "0000000000000000") if i == 0 else r
        for i, r in enumerate(RELIANCES)
    ]
    with pytest.raises(UncheckedRuntime, match=f"{RELIANCES[0].target} .*checked 0000"):
        compat.check_runtime(reliances=edited)


WORKER_ON = {
    "an unchecked faust-streaming": (
        "real = importlib.metadata.version\n"
        "importlib.metadata.version = lambda name: "
        "'0.16.0' if name == 'faust-streaming' else real(name)\n",
        "checked against faust-streaming 0.15.3; found 0.16.0",
    ),
    "changed Faust code": (
        "from faust.transport.consumer import Consumer\n"
        "def _new_offset(self, tp):\n"
        "    return None\n"
        "Consumer._new_offset = _new_offset\n",
        "faust.transport.consumer:Consumer._new_offset (relied on by streams/runtime/batches.py)",
    ),
}


#: The worker command, run after the set-up has changed the libraries in its process.
START_WORKER = (
    "from creditwatch.cli import main\n"
    "sys.exit(main(['worker', '--kafka', 'kafka://127.0.0.1:9', '--wait-for-broker', '0']))\n"
)


@pytest.mark.parametrize("change", WORKER_ON.values(), ids=WORKER_ON.keys())
def test_the_worker_command_refuses_to_start_saying_why(change: tuple[str, str]) -> None:
    setup, said = change
    script = "import importlib.metadata, sys\n" + setup + START_WORKER
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 1, ran.stderr
    assert "creditwatch: the worker's replacements of Faust internals" in ran.stderr
    assert said in ran.stderr
    assert "tests/streams/test_runtime_compat.py" in ran.stderr
    assert "giving up" not in ran.stderr  # refused before it waited for the broker


# -- nothing is reached into without being declared ---------------------------------------


def test_every_replacement_and_reach_into_a_library_is_declared() -> None:
    """Each ``replace_method`` call, frame inspection, private name of a library and
    private method overridden in a library's subclass has its entry in RELIANCES."""
    undeclared = []
    defined = set().union(*(_defined_private_names(tree) for _, tree in _our_trees(OURS)))
    for path, tree in _our_trees(SOURCES):
        declared = [r for r in RELIANCES if r.used_by == path]
        words = " ".join(f"{r.target} {r.relies_on}" for r in declared)
        for owner, name in _replacements(tree):
            if not any(r.target.endswith(f":{owner}.{name}") for r in declared):
                undeclared.append(f"{path}: replace_method({owner}, {name!r})")
        if _inspects_frames(tree) and "frame inspected" not in words:
            undeclared.append(f"{path}: inspects a frame")
        reached = (_private_names_used(tree) - defined) | _private_overrides(tree)
        undeclared += [f"{path}: {name}" for name in sorted(reached) if name not in words]
    assert undeclared == [], "declare these in streams/runtime/compat.py: " + "; ".join(undeclared)


def _our_trees(packages: tuple[str, ...]) -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(ROOT).as_posix(), ast.parse(path.read_text()))
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_ours(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in OURS


def _defined_private_names(tree: ast.Module) -> set[str]:
    """Private names our code defines: functions, classes, arguments, globals, ``self._x``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}:
                names.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and _is_ours(node.module):
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if _private(name)}


def _private_names_used(tree: ast.Module) -> set[str]:
    """Private attributes read or set anywhere, and private names imported from libraries."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in STDLIB_PRIVATE):
                names.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and not _is_ours(node.module):
            names.update(alias.name for alias in node.names if _private(alias.name))
    return names


def _replacements(tree: ast.Module) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "replace_method":
            owner, name = node.args[0], node.args[1]
            if isinstance(owner, ast.Name) and isinstance(name, ast.Constant):
                found.append((owner.id, str(name.value)))
    return found


def _inspects_frames(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and (node.attr in FRAME_ATTRIBUTES or node.attr == "_getframe")
        for node in ast.walk(tree)
    )


def _private_overrides(tree: ast.Module) -> set[str]:
    """Private methods of our subclasses of library classes that the library class has."""
    imported: dict[str, str] = {}  # local name -> "module" or "module:Name"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not _is_ours(node.module):
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    overrides = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [b for b in map(_dotted, node.bases) if b and b.split(".")[0] in imported]
        for base_name in bases:
            head, _, rest = base_name.partition(".")
            where = imported[head]
            target = f"{where}.{rest}" if ":" in where else f"{where}:{rest}"
            if target.endswith(":") or _is_ours(target.partition(":")[0]):
                continue
            try:
                base = compat.resolve(target.rstrip("."))
            except (ImportError, AttributeError):
                continue
            for item in node.body:
                is_method = isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                if is_method and _private(item.name) and hasattr(base, item.name):
                    overrides.add(item.name)
    return overrides


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        value = _dotted(node.value)
        return f"{value}.{node.attr}" if value else None
    return None


# -- behaviour the fingerprints stand for, where no other test shows it --------------------


def test_the_consumer_s_own_flow_event_is_recognised_as_a_delivery_race(worker: Wiring) -> None:
    """inline_delivery tells the message loop's call by the frame of mode's Event.wait."""
    consumer = cast(Any, worker.app.consumer)

    async def delivery() -> None:
        return None

    calls = [
        (delivery(), consumer.suspend_flow.wait()),
        (delivery(), consumer.can_resume_flow.wait()),  # another event: not a delivery
    ]
    try:
        assert inline_delivery._is_delivery(consumer, calls[0])
        assert not inline_delivery._is_delivery(consumer, calls[1])
    finally:
        for coroutine in (c for call in calls for c in call):
            coroutine.close()


def test_a_service_worker_leaves_the_log_level_alone_and_adds_no_spinner(worker: Wiring) -> None:
    """Faust's spinner would set the root logger to DEBUG (about 5% of worker CPU)."""
    service = service_worker(worker.app, "warning")
    logger = logging.getLogger("creditwatch-test-worker-root")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        service.on_setup_root_logger(logger, logging.WARNING)
        assert logger.level == logging.WARNING
        assert logger.handlers == [handler]
    finally:
        logger.removeHandler(handler)
