"""One settings object for the worker, read from the environment with working defaults.

| variable | default | meaning |
|---|---|---|
| ``CREDITWATCH_KAFKA`` | ``kafka://127.0.0.1:9092`` | broker URL(s), comma-separated |
| ``CREDITWATCH_REDIS`` | ``redis://127.0.0.1:6379/0`` | Redis serving layer |
| ``CREDITWATCH_PARTITIONS`` | ``4`` | partitions of every topic and table |
| ``CREDITWATCH_APP_ID`` | ``creditwatch`` | consumer group and changelog prefix |
| ``CREDITWATCH_WEB_BIND`` | ``127.0.0.1`` | web server address (no auth: keep it local) |
| ``CREDITWATCH_WEB_PORT`` | ``6066`` | web server port |
| ``CREDITWATCH_STORE`` | ``memory://`` | table store; ``rocksdb://`` needs ``[rocksdb]`` |
| ``CREDITWATCH_DATA_DIR`` | ``./creditwatch-data`` | Faust data directory |
| ``CREDITWATCH_REBALANCE_TIMEOUT`` | Faust's (60 s) | seconds (3–4 embedded); session: 2×, ≥ 6 s |
| ``CREDITWATCH_FETCH_MAX_WAIT_MS`` | ``20`` | ms the broker may hold an empty fetch |
| ``CREDITWATCH_FETCH_IDLE_WAIT_MS`` | ``500`` | the same after a quiet second (fetch_wait.py) |
| ``CREDITWATCH_POLICY`` | bundled ``detectors/policy.toml`` | policy file |
| ``CREDITWATCH_ROUTING`` | bundled ``pipeline/routing.toml`` | alert routing file |
| ``CREDITWATCH_PSEUDONYM_KEY`` | none: required | secret (≥ 32 characters) keying pseudonyms |
| ``CREDITWATCH_BOARD`` | ``dashboards/board/index.html`` beside the code | the alert board page |
| ``CREDITWATCH_DATABASE`` | ``creditwatch`` on 127.0.0.1:5432 | record store, a libpq URL |
| ``CREDITWATCH_PUBLIC_BIND`` | ``127.0.0.1`` | public disclosure site's address |
| ``CREDITWATCH_PUBLIC_PORT`` | ``6080`` | public disclosure site's port |
| ``CREDITWATCH_PUBLIC_URL`` | ``http://BIND:PORT`` | the site as the public reaches it |
| ``CREDITWATCH_PUBLIC_RATE`` | ``5`` | page views per second per client, after the burst |
| ``CREDITWATCH_PUBLIC_BURST`` | ``30`` | page views a client may make at once |
| ``CREDITWATCH_PUBLIC_TRUSTED_PROXIES`` | none | proxies whose X-Forwarded-For counts |
| ``CREDITWATCH_DISCLOSURE`` | ``pipeline/disclosure.toml`` | public windows, report validity |
| ``CREDITWATCH_REPORT_FONT`` | searched | TrueType CJK font for PDF reports |

``CREDITWATCH_PSEUDONYM_KEY`` has no default on purpose: a worker without it
refuses to start. Every worker of a deployment needs the same value, kept as
long as the topics and tables are (a new key starts new linkage groups);
``creditwatch demo``, the tests and the benchmarks make a random one per run.

Only :meth:`Settings.from_env` reads the environment, once, in the command
that starts a worker (``creditwatch worker``); nothing reads it at import. The
worker is built from the :class:`Settings` it is given (``streams/worker.py``),
whose methods load the policy and routing files and check the pseudonym key
(:meth:`Settings.step_context`, :meth:`Settings.load_routing`); the pure layer
(``pipeline/``) and ``detectors/`` are handed what they read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from detectors.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from pipeline.context import StepContext
from pipeline.disclosure_policy import DisclosurePolicy, load_disclosure
from pipeline.routing import Routing, load_routing

PSEUDONYM_KEY_VARIABLE = "CREDITWATCH_PSEUDONYM_KEY"
DATABASE_VARIABLE = "CREDITWATCH_DATABASE"
PSEUDONYM_KEY_MIN_LENGTH = 32
#: The alert board page as it ships, in dashboards/ beside the code.
BUNDLED_BOARD = Path(__file__).resolve().parents[1] / "dashboards" / "board" / "index.html"


#: The shortest session timeout Apache Kafka accepts (its ``group.min.session.timeout.ms``).
MIN_SESSION_TIMEOUT_S = 6.0


def session_timeout(rebalance_timeout_s: float) -> float:
    """The consumer-group session timeout that goes with a rebalance timeout: twice it,
    and never below what Apache Kafka accepts.

    It sets two waits. The embedded broker answers a worker's first JoinGroup
    after half the session timeout, so it is most of a worker's start-up; and a
    member killed without leaving the group keeps its partitions until the
    timeout runs out, so it is how long its replacement waits for them
    (measured: a start 8.8 s and a kill -9 and restart 22.9 s at 10 s; 6.4 s
    and 7.6 s at 6 s). Heartbeats go every second, so a worker must miss
    several before it is dropped.

    >>> session_timeout(3.0), session_timeout(4.0)
    (6.0, 8.0)
    """
    return max(MIN_SESSION_TIMEOUT_S, 2 * rebalance_timeout_s)


def bootstrap_servers(value: str) -> str:
    """``kafka://host:port`` (Faust's URL form, ``;`` or ``,`` separated) -> ``host:port,...``.

    >>> bootstrap_servers("kafka://a:9092;kafka://b:9092")
    'a:9092,b:9092'
    """
    servers = []
    for part in value.replace(";", ",").split(","):
        part = part.strip().removeprefix("kafka://").rstrip("/")
        if part:
            servers.append(part)
    if not servers:
        raise ValueError(f"empty Kafka bootstrap address: {value!r}")
    return ",".join(servers)


def default_bootstrap() -> str:
    """``$CREDITWATCH_KAFKA`` (or the local default) as ``host:port,...`` for Kafka clients."""
    return bootstrap_servers(Settings.from_env().kafka or Settings().kafka)


@dataclass(frozen=True, slots=True)
class Settings:
    kafka: str = "kafka://127.0.0.1:9092"
    redis: str = "redis://127.0.0.1:6379/0"
    partitions: int = 4
    app_id: str = "creditwatch"
    web_bind: str = "127.0.0.1"
    web_port: int = 6066
    store: str = "memory://"
    data_dir: str = "./creditwatch-data"
    rebalance_timeout: float | None = None
    fetch_max_wait_ms: int = 20
    fetch_idle_wait_ms: int = 500
    policy: str = ""  # the policy file; empty: the bundled one
    routing: str = ""  # the alert routing file; empty: the bundled one
    pseudonym_key: str = field(default="", repr=False)  # a secret: never in a repr or log
    board: str = ""  # the alert board page; empty: dashboards/board/index.html beside the code
    # The record store (docs/record-store.md); a URL may hold a password: not in a repr.
    database: str = field(default="postgresql://creditwatch@127.0.0.1:5432/creditwatch", repr=False)
    # The public disclosure site (docs/public-site.md) and the credit reports.
    public_bind: str = "127.0.0.1"
    public_port: int = 6080
    public_url: str = ""  # empty: http://{public_bind}:{public_port}
    public_rate: float = 5.0
    public_burst: float = 30.0
    public_trusted_proxies: tuple[str, ...] = ()
    disclosure: str = ""  # the disclosure file; empty: the bundled one
    report_font: str = ""  # empty: searched

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        defaults = cls()
        timeout = env.get("CREDITWATCH_REBALANCE_TIMEOUT")
        try:
            return cls(
                kafka=env.get("CREDITWATCH_KAFKA", defaults.kafka),
                redis=env.get("CREDITWATCH_REDIS", defaults.redis),
                partitions=int(env.get("CREDITWATCH_PARTITIONS", defaults.partitions)),
                app_id=env.get("CREDITWATCH_APP_ID", defaults.app_id),
                web_bind=env.get("CREDITWATCH_WEB_BIND", defaults.web_bind),
                web_port=int(env.get("CREDITWATCH_WEB_PORT", defaults.web_port)),
                store=env.get("CREDITWATCH_STORE", defaults.store),
                data_dir=env.get("CREDITWATCH_DATA_DIR", defaults.data_dir),
                rebalance_timeout=float(timeout) if timeout else None,
                fetch_max_wait_ms=int(
                    env.get("CREDITWATCH_FETCH_MAX_WAIT_MS", defaults.fetch_max_wait_ms)
                ),
                fetch_idle_wait_ms=int(
                    env.get("CREDITWATCH_FETCH_IDLE_WAIT_MS", defaults.fetch_idle_wait_ms)
                ),
                policy=env.get("CREDITWATCH_POLICY", defaults.policy),
                routing=env.get("CREDITWATCH_ROUTING", defaults.routing),
                pseudonym_key=env.get(PSEUDONYM_KEY_VARIABLE, defaults.pseudonym_key),
                board=env.get("CREDITWATCH_BOARD", defaults.board),
                database=env.get(DATABASE_VARIABLE, defaults.database),
                public_bind=env.get("CREDITWATCH_PUBLIC_BIND", defaults.public_bind),
                public_port=int(env.get("CREDITWATCH_PUBLIC_PORT", defaults.public_port)),
                public_url=env.get("CREDITWATCH_PUBLIC_URL", defaults.public_url),
                public_rate=float(env.get("CREDITWATCH_PUBLIC_RATE", defaults.public_rate)),
                public_burst=float(env.get("CREDITWATCH_PUBLIC_BURST", defaults.public_burst)),
                public_trusted_proxies=tuple(
                    p.strip()
                    for p in env.get("CREDITWATCH_PUBLIC_TRUSTED_PROXIES", "").split(",")
                    if p.strip()
                ),
                disclosure=env.get("CREDITWATCH_DISCLOSURE", defaults.disclosure),
                report_font=env.get("CREDITWATCH_REPORT_FONT", defaults.report_font),
            )
        except ValueError as exc:
            raise SystemExit(f"creditwatch: bad setting in environment: {exc}") from None

    def load_policy(self) -> Policy:
        """The policy file these settings name (``CREDITWATCH_POLICY``), else the bundled one."""
        return load_policy(self.policy or None)

    def policy_text(self) -> str:
        """The text of the policy file :meth:`load_policy` reads."""
        return Path(self.policy or DEFAULT_POLICY_PATH).read_text(encoding="utf-8")

    def load_routing(self) -> Routing:
        """The routing file these settings name (``CREDITWATCH_ROUTING``), else the bundled one."""
        return load_routing(self.routing or None)

    def pseudonym_secret(self) -> bytes:
        """The key for the pseudonyms of people, or a :class:`SettingError` saying how to
        make one."""
        return pseudonym_secret(self.pseudonym_key)

    def step_context(self) -> StepContext:
        """What every step of the worker reads: the policy in force and the pseudonym key."""
        return StepContext(self.load_policy(), self.pseudonym_secret())

    def board_page(self) -> Path:
        """The alert board page: ``CREDITWATCH_BOARD`` (an installed image copies it
        elsewhere), else the one in dashboards/ beside the code."""
        return Path(self.board) if self.board else BUNDLED_BOARD

    def load_disclosure(self) -> DisclosurePolicy:
        """The disclosure file these settings name (``CREDITWATCH_DISCLOSURE``), else the
        bundled one."""
        return load_disclosure(self.disclosure or None)

    @property
    def public_address(self) -> str:
        """Where the public reaches the disclosure site (reports print it)."""
        return self.public_url or f"http://{self.public_bind}:{self.public_port}"


class SettingError(ValueError):
    """A setting the worker cannot run without is missing or unusable."""


def pseudonym_secret(value: str) -> bytes:
    """``CREDITWATCH_PSEUDONYM_KEY``'s value as key bytes, or a :class:`SettingError` saying
    how to make one.

    The key is what keeps a person's pseudonym from being checked against
    guesses (``detectors.cross_sector.person_pseudonym``), so there is no
    default to fall back on, and a short one is refused.
    """
    how = (
        "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`, "
        "keep it secret, and give every worker of the deployment the same value "
        "(docs/operations.md)"
    )
    if not value.strip():
        raise SettingError(
            f"{PSEUDONYM_KEY_VARIABLE} is not set: the worker keys the pseudonyms of legal "
            f"representatives with it; {how}"
        )
    if len(value) < PSEUDONYM_KEY_MIN_LENGTH:
        raise SettingError(
            f"{PSEUDONYM_KEY_VARIABLE} is {len(value)} characters long, fewer than "
            f"{PSEUDONYM_KEY_MIN_LENGTH}; {how}"
        )
    return value.encode("utf-8")
