"""The layers import only downwards (issue 14, "the house").

``topics/`` (contracts) is the floor; ``detectors/`` and ``pipeline/`` are the
pure decision layer on it: no Faust, no Kafka or Redis client, no web or
metrics library, nothing of the wiring above them, and no environment (what a
decision reads comes in its ``context``). ``streams/`` wires those together and
``creditwatch/`` (CLI, embedded stack, bench) sits on top.

Read from the source with :mod:`ast`, not by importing: an import inside a
function or under ``TYPE_CHECKING`` counts as much as one at the top, and a
module string given to ``importlib.import_module`` counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"

#: Libraries of the runtime (Faust and its service library, the Kafka and
#: Redis clients, the web server, metrics), kept out of the pure layer.
RUNTIME_LIBRARIES = frozenset(
    {"faust", "mode", "aiokafka", "kafka", "redis", "aiohttp", "prometheus_client"}
)
#: ``os`` names that read (or change) the environment.
ENVIRONMENT_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})


@dataclass(frozen=True)
class Layer:
    package: str
    forbidden: frozenset[str]  # top-level module names it must not import
    reads_environment: bool  # whether it may read os.environ / os.getenv
    why: str


PURE = "the pure layer decides from its inputs: no runtime, no wiring, no environment"
LAYERS = (
    Layer("detectors", RUNTIME_LIBRARIES | {"pipeline", "streams", "creditwatch"}, False, PURE),
    Layer("pipeline", RUNTIME_LIBRARIES | {"streams", "creditwatch"}, False, PURE),
    Layer(
        "topics",
        frozenset({"detectors", "pipeline", "streams", "creditwatch"}),
        True,
        "the contracts are the floor: nothing of ours above them",
    ),
    Layer("streams", frozenset({"creditwatch"}), True, "the CLI and tools build on streams/"),
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    # In a package's __init__, "." is the package itself; in a module, its parent.
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str, str]]:
    """(line, absolute module, the import as written) of every import in ``tree``, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            source = resolve(node, module, is_package)
            written = "." * node.level + (node.module or "")
            for alias in node.names:
                # `from . import x` imports the module package.x.
                target = source if node.module else f"{source}.{alias.name}"
                yield node.lineno, target, f"from {written} import {alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and _is_dynamic_import(node.func)
        ):
            name = node.args[0].value
            yield node.lineno, name, f"{ast.unparse(node.func)}({name!r})"


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def environment_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) of every ``os.environ``/``os.getenv``-style use, however ``os`` is named."""
    os_names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname for a in node.names if a.name == "os" and a.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and node.level == 0:
            for alias in node.names:
                if alias.name in ENVIRONMENT_NAMES:
                    yield node.lineno, f"from os import {alias.name}"
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def violations_in(source: str, path: str, module: str, layer: Layer) -> list[Violation]:
    tree = ast.parse(source, filename=path)
    is_package = path.endswith("__init__.py")
    found = [
        Violation(path, line, written)
        for line, target, written in imports(tree, module, is_package)
        if target.split(".")[0] in layer.forbidden
    ]
    if not layer.reads_environment:
        found += [
            Violation(path, line, f"reads the environment ({what})")
            for line, what in environment_reads(tree)
        ]
    return sorted(found, key=lambda v: v.line)


def modules_of(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def layer_violations(layer: Layer) -> list[Violation]:
    found: list[Violation] = []
    for path in modules_of(layer.package):
        relative = path.relative_to(REPO).as_posix()
        source = path.read_text(encoding="utf-8")
        found += violations_in(source, relative, module_name(path, REPO), layer)
    return found


@pytest.mark.parametrize("layer", LAYERS, ids=[layer.package for layer in LAYERS])
def test_the_layer_imports_only_downwards(layer: Layer):
    assert modules_of(layer.package), f"no modules found under {layer.package}/"
    found = layer_violations(layer)
    if found:
        listing = "\n".join(f"  {v}" for v in found)
        pytest.fail(f"{layer.package}/ must not do this ({layer.why}):\n{listing}", pytrace=False)


#: What loading the pure layer may bring in through ``topics/``, whose records
#: are ``faust.Record`` classes (Faust imports mode and aiohttp with it).
CONTRACT_RUNTIME = frozenset({"faust", "mode", "aiohttp"})
LOADED = """
import importlib, pkgutil, sys
for package in ("detectors", "pipeline"):
    root = importlib.import_module(package)
    for found in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(found.name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_loading_the_pure_layer_brings_no_client_and_nothing_of_the_wiring():
    # A fresh interpreter: this one has loaded everything the other tests import.
    result = subprocess.run(
        [sys.executable, "-c", LOADED], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    forbidden = (RUNTIME_LIBRARIES - CONTRACT_RUNTIME) | {"streams", "creditwatch"}
    leaked = sorted(set(result.stdout.split()) & forbidden)
    assert leaked == [], f"importing detectors/ and pipeline/ loads {leaked}"


PIPELINE = next(layer for layer in LAYERS if layer.package == "pipeline")
SAMPLE = """\
from __future__ import annotations

import os as o
from os import getenv
from typing import TYPE_CHECKING

from detectors.policy import Policy
from . import measures
from ..streams import settings

if TYPE_CHECKING:
    import faust.types


def late() -> None:
    from redis.asyncio import Redis
    import importlib
    importlib.import_module("streams.app")
    return o.environ["X"]
"""


def test_the_check_sees_imports_anywhere_relative_ones_and_the_environment():
    found = violations_in(SAMPLE, "pipeline/sample.py", "pipeline.sample", PIPELINE)
    assert [str(v) for v in found] == [
        "pipeline/sample.py:4: reads the environment (from os import getenv)",
        "pipeline/sample.py:9: from ..streams import settings",
        "pipeline/sample.py:12: import faust.types",
        "pipeline/sample.py:16: from redis.asyncio import Redis",
        "pipeline/sample.py:18: importlib.import_module('streams.app')",
        "pipeline/sample.py:19: reads the environment (o.environ)",
    ]


def test_relative_imports_resolve_from_a_package_init_and_from_a_module():
    node = ast.parse("from ..streams import app").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert resolve(node, "pipeline.sub.m", is_package=False) == "pipeline.streams"
    assert resolve(node, "pipeline.sub", is_package=True) == "pipeline.streams"
    assert resolve(node, "pipeline.m", is_package=False) == "streams"


#: Modules that are programs run as a child process (``python -m``), not
#: libraries: they set their environment and register agents when run. Test
#: collection must not import them (``--ignore`` in pyproject.toml's addopts).
CHILD_PROGRAMS = ("creditwatch.bench.sends",)
UNCHANGED_ENVIRONMENT = """
import importlib, os, pkgutil, sys
children = set(sys.argv[1:])
before = dict(os.environ)
for package in ("topics", "detectors", "pipeline", "streams", "creditwatch"):
    root = importlib.import_module(package)
    for found in pkgutil.walk_packages(root.__path__, package + "."):
        if found.name not in children:
            importlib.import_module(found.name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(" ".join(changed))
"""


def test_importing_any_library_module_leaves_the_environment_alone():
    """Collection imports every module, and worker processes started later inherit
    the environment: one module's ``setdefault`` once renamed every test worker's
    consumer group, so nothing watching the ``creditwatch`` group saw a commit."""
    result = subprocess.run(
        [sys.executable, "-c", UNCHANGED_ENVIRONMENT, *CHILD_PROGRAMS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_child_programs_are_kept_out_of_test_collection():
    options = PYPROJECT.read_text()
    for module in CHILD_PROGRAMS:
        assert f"--ignore={module.replace('.', '/')}.py" in options


PACKAGE_LOADED = """
import importlib, pkgutil, sys
root = importlib.import_module("{package}")
for found in pkgutil.walk_packages(root.__path__, "{package}."):
    importlib.import_module(found.name)
print(" ".join(sorted(name for name in sys.modules if name.startswith("streams."))))
"""


@pytest.mark.parametrize(
    ("package", "module"),
    [("streams.archive", "streams.archive.sink"), ("streams.public", "streams.public.site")],
)
def test_the_record_store_and_public_site_do_not_build_the_worker(package: str, module: str):
    """``streams/archive`` and ``streams/public`` are wiring beside the worker, not inside
    it: the sink and the public site are processes of their own, and the read API is
    imported by the web servers, so loading them must not build the Faust app, its agents
    or the Redis view (which connect and register at import)."""
    result = subprocess.run(
        [sys.executable, "-c", PACKAGE_LOADED.replace("{package}", package)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    worker = {"streams.app", "streams.agents", "streams.serving", "streams.http", "streams.metrics"}
    packages = {".".join(name.split(".")[:2]) for name in result.stdout.split()}
    assert packages & worker == set()
    assert module in result.stdout.split()


CLI_LOADED = """
import sys
from prometheus_client import REGISTRY
import creditwatch.cli
creditwatch.cli.build_parser()
print(" ".join(f.name for f in REGISTRY.collect() if f.name.startswith("creditwatch_archive")))
print(" ".join(sorted(m for m in sys.modules if m.startswith("streams.archive."))))
"""


def test_a_worker_serves_no_sink_metrics_and_the_command_line_loads_no_sink():
    """Every ``creditwatch`` command builds the whole parser first: were the sink
    imported there, every worker would serve the sink's metrics (as zeros) at
    /metrics and pay for loading psycopg, Alembic and the sink at start-up."""
    result = subprocess.run(
        [sys.executable, "-c", CLI_LOADED], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["", ""]
