"""``creditwatch token create|revoke|list``: API tokens for centres, inspectors, departments.

A token is created here and nowhere else: the raw token is printed once on
stdout and only its SHA-256 is kept, on ``risk.access-tokens`` (the record of
truth) and in Redis (so it works at once, before a worker has read the topic).
Every change is sent to the audit trail first: an action without its audit
entry must not happen. Roles and scopes are explained in docs/access.md.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

import redis

from creditwatch import admin_io
from creditwatch.commands import options
from creditwatch.topic_admin import BrokerUnreachable
from streams.http.access import new_token, token_hash
from streams.http.token_store import store_token
from topics.access import MAX_NAME_LENGTH, AccessToken, Role, parse_access_token, scope_errors
from topics.audit import AuditAction, new_request
from topics.catalogue import ACCESS_TOKENS
from topics.validation import InvalidRecord
from topics.vocabulary import Sector

#: Hex digits of a token hash shown by `token list` and accepted by `revoke --hash`.
SHOWN_HASH = 12
MIN_HASH_PREFIX = 8
#: Actor names the system uses itself; a token may not be called like them.
RESERVED_PREFIXES = ("cli:", "system")
USAGE_ERROR = 2


class UsageError(ValueError):
    """Bad arguments: exit code 2 with the message."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="create, revoke or list API tokens",
        description="Manage API tokens (roles: centre, inspector, department, association, "
        "subject). "
        "A new token is printed once; only its hash is stored.",
    )
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="who holds it (the audit trail's actor)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument(
        "--county",
        dest="counties",
        action="extend",
        nargs="+",
        default=[],
        metavar="CODE",
        help="county code an inspector covers (repeatable; at least one for inspectors)",
    )
    create.add_argument(
        "--sector",
        dest="sectors",
        action="extend",
        nargs="+",
        default=[],
        metavar="SECTOR",
        help=f"sector an inspector covers (repeatable; default all): {', '.join(Sector)}",
    )
    create.add_argument(
        "--uscc", default=None, help="the subject a subject token speaks for (its own USCC)"
    )
    create.add_argument(
        "--association", default=None, help="the association id an association token speaks for"
    )
    options.add_bootstrap(create)
    options.add_redis(create)
    create.set_defaults(func=run_create)

    revoke = actions.add_parser("revoke", help="revoke a token at once")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--name", help="the active token of this name")
    which.add_argument("--hash", help=f"the token whose hash starts so (≥{MIN_HASH_PREFIX} hex)")
    options.add_bootstrap(revoke)
    options.add_redis(revoke)
    revoke.set_defaults(func=run_revoke)

    list_ = actions.add_parser("list", help="list tokens: name, role, scope, revoked")
    options.add_bootstrap(list_)
    list_.set_defaults(func=run_list)


def _fail(message: str, code: int = 1) -> int:
    print(f"creditwatch token: error: {message}", file=sys.stderr)
    return code


def _warn(message: str) -> None:
    print(f"creditwatch token: warning: {message}", file=sys.stderr)


def cli_actor() -> str:
    """The audit actor of a command run by hand."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable() or " " in name:
        raise UsageError(f"--name must be 1–{MAX_NAME_LENGTH} printable characters without spaces")
    if name.startswith(RESERVED_PREFIXES):
        raise UsageError(f"--name may not start with {' or '.join(RESERVED_PREFIXES)}")
    return name


def build_token(args: argparse.Namespace, now: datetime) -> tuple[str, AccessToken]:
    """A raw token and its record, or UsageError naming what is wrong with the arguments."""
    name = check_name(args.name)
    role = Role(args.role)
    counties = sorted(dict.fromkeys(args.counties))
    sectors = sorted(dict.fromkeys(args.sectors))
    subject = args.uscc.strip().upper() if getattr(args, "uscc", None) else None
    association = getattr(args, "association", None) or None
    errors = scope_errors(role, counties, sectors, subject, association)
    if errors:
        raise UsageError("; ".join(errors))
    raw = new_token()
    record = AccessToken(
        token_hash=token_hash(raw),
        name=name,
        role=role,
        counties=counties,
        sectors=[Sector(s) for s in sectors],
        created_at=now,
        subject=subject,
        association=association,
    )
    return raw, record


def current_tokens(bootstrap: str) -> list[AccessToken]:
    """The latest record of every token on the topic, oldest first."""
    latest: dict[str, AccessToken] = {}
    for message in admin_io.read_topic(bootstrap, ACCESS_TOKENS.name):
        try:
            token = parse_access_token(message.value)
        except InvalidRecord as exc:
            _warn(f"skipping unreadable record at offset {message.offset}: {exc}")
            continue
        latest[token.token_hash] = token
    return sorted(latest.values(), key=lambda t: t.created_at)


def scope_text(token: AccessToken) -> str:
    if token.subject is not None:
        return f"subject {token.subject}"
    if token.association is not None:
        return f"association {token.association}"
    if Role(token.role) is not Role.INSPECTOR:
        return "all"
    sectors = ",".join(token.sectors) if token.sectors else "all sectors"
    return f"{','.join(token.counties)} / {sectors}"


def _publish(args: argparse.Namespace, record: AccessToken, action: AuditAction) -> None:
    """Audit entry first, then the token record, then Redis (a warning if it is away)."""
    bootstrap = options.bootstrap(args)
    value = record.dumps()
    details = {
        "name": record.name,
        "role": str(record.role),
        "counties": list(record.counties),
        "sectors": [str(s) for s in record.sectors],
        "subject": record.subject,
        "association": record.association,
        "token_hash_prefix": record.token_hash[:SHOWN_HASH],
    }
    request = new_request(cli_actor(), action.value, f"token:{record.name}", details)
    with admin_io.producer(bootstrap) as client:
        admin_io.send_audit_request(client, request)
        admin_io.send(
            client, ACCESS_TOKENS.name, record.token_hash.encode(), value, admin_io.TIMEOUT_S
        )
    url = options.redis_url(args)
    try:
        with redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5) as cache:
            store_token(cache, value)
    except redis.RedisError as exc:
        _warn(
            f"Redis at {url} not updated ({exc}); the change takes effect when a worker "
            f"reads it from {ACCESS_TOKENS.name}"
        )


def create_token(
    bootstrap: str,
    redis_url: str,
    name: str,
    role: Role,
    counties: list[str] | None = None,
    sectors: list[str] | None = None,
    subject: str | None = None,
    association: str | None = None,
) -> str:
    """Create a token from code (the demo, tests): published, cached, audited; the raw token."""
    args = argparse.Namespace(
        name=name,
        role=role.value,
        counties=counties or [],
        sectors=sectors or [],
        uscc=subject,
        association=association,
        bootstrap=bootstrap,
        redis=redis_url,
    )
    raw, record = build_token(args, datetime.now(UTC))
    _publish(args, record, AuditAction.TOKEN_CREATE)
    return raw


def run_create(args: argparse.Namespace) -> int:
    try:
        raw, record = build_token(args, datetime.now(UTC))
        bootstrap = options.bootstrap(args)
        taken = [t for t in current_tokens(bootstrap) if t.name == record.name and not t.revoked]
        if taken:
            raise UsageError(f"an active token named {record.name!r} exists; revoke it first")
        _publish(args, record, AuditAction.TOKEN_CREATE)
    except UsageError as exc:
        return _fail(str(exc), USAGE_ERROR)
    except (BrokerUnreachable, admin_io.ReadIncomplete) as exc:
        return _fail(str(exc))
    except Exception as exc:  # a broker error: one line, and no token shown
        return _fail(f"token not created: {type(exc).__name__}: {exc}")
    print(raw)
    print(
        f"creditwatch token: created {record.role} token {record.name!r} "
        f"(scope {scope_text(record)}, hash {record.token_hash[:SHOWN_HASH]}…). "
        "The token above is shown only once: store it now.",
        file=sys.stderr,
    )
    return 0


def find_active(
    tokens: list[AccessToken], name: str | None, hash_prefix: str | None
) -> AccessToken:
    active = [t for t in tokens if not t.revoked]
    if name is not None:
        found = [t for t in active if t.name == name]
        what = f"named {name!r}"
    else:
        prefix = (hash_prefix or "").strip().lower()
        if len(prefix) < MIN_HASH_PREFIX:
            raise UsageError(f"--hash needs at least {MIN_HASH_PREFIX} hex digits")
        found = [t for t in active if t.token_hash.startswith(prefix)]
        what = f"with hash {prefix}…"
    if not found:
        raise UsageError(f"no active token {what}")
    if len(found) > 1:
        raise UsageError(f"{len(found)} active tokens {what}; give more of the hash")
    return found[0]


def run_revoke(args: argparse.Namespace) -> int:
    try:
        token = find_active(current_tokens(options.bootstrap(args)), args.name, args.hash)
        revoked = AccessToken(**{**token.asdict(), "revoked_at": datetime.now(UTC)})
        _publish(args, revoked, AuditAction.TOKEN_REVOKE)
    except UsageError as exc:
        return _fail(str(exc), USAGE_ERROR)
    except (BrokerUnreachable, admin_io.ReadIncomplete) as exc:
        return _fail(str(exc))
    except Exception as exc:
        return _fail(f"token not revoked: {type(exc).__name__}: {exc}")
    print(f"revoked {token.role} token {token.name!r} ({token.token_hash[:SHOWN_HASH]}…)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        tokens = current_tokens(options.bootstrap(args))
    except (BrokerUnreachable, admin_io.ReadIncomplete) as exc:
        return _fail(str(exc))
    rows = [("NAME", "ROLE", "SCOPE", "CREATED", "REVOKED", "HASH")]
    for t in tokens:
        rows.append(
            (
                t.name,
                str(t.role),
                scope_text(t),
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "-",
                t.token_hash[:SHOWN_HASH] + "…",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0
