"""``risk.access-tokens``: API tokens with a role and a scope, stored hashed.

The topic is compacted and keyed by the token's SHA-256 hash, so the latest
record per token is its state: a revoked token is published again with
``revoked_at`` set. The raw token never reaches a topic, Redis or a log; it is
shown once to whoever created it. Issue 4 (access control) and seed 十七
(information security in credit supervision).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import faust

from topics import validation as v
from topics.memberships import MAX_ASSOCIATION_LENGTH, plain_id
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Sector

TOKEN_HASH_LENGTH = 64  # sha256, hex
MAX_NAME_LENGTH = 64
SECTOR_VALUES = frozenset(s.value for s in Sector)


class Role(StrEnum):
    """Who holds a token, and so what it may see and do (docs/access.md)."""

    CENTRE = "centre"  # supervision centre: everything
    INSPECTOR = "inspector"  # own counties (and sectors, if given) only
    DEPARTMENT = "department"  # tiers, lists and measures, read only
    # Issue 18 (seed 十八): an industry association; its members' tiers and lists only.
    ASSOCIATION = "association"
    # Issue 18 (信用修复"一网通办"): a subject itself; its own records, lists and measures.
    SUBJECT = "subject"


class AccessToken(faust.Record, serializer="json", include_metadata=False):
    """One API token's role and scope. ``sectors`` empty means every sector."""

    token_hash: str
    name: str
    role: Role
    counties: list[str]
    sectors: list[Sector]
    created_at: datetime
    revoked_at: datetime | None = None
    # Added with issue 18 (older records lack them): the USCC a subject token speaks
    # for, and the id of the association an association token speaks for.
    subject: str | None = None
    association: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def scope_errors(
    role: Role,
    counties: list[str],
    sectors: list[str],
    subject: str | None = None,
    association: str | None = None,
) -> list[str]:
    """Why a role and scope cannot make a token; empty if they can.

    An inspector's scope is counties (and sectors), a subject's its USCC, an
    association's its id; a centre sees everything and a department reads
    city-wide tiers and lists. A scope on a role that has none would be silently
    ignored, so it is refused.
    """
    errors = []
    if role is Role.INSPECTOR and not counties:
        errors.append("an inspector token needs at least one --county")
    if role is not Role.INSPECTOR and (counties or sectors):
        errors.append(f"a {role.value} token has no county or sector scope; only inspectors do")
    if (role is Role.SUBJECT) != (subject is not None):
        errors.append("a subject token, and only a subject token, names its --uscc")
    elif subject is not None:
        try:
            v.uscc({"uscc": subject}, "uscc")
        except v.InvalidRecord as exc:
            errors.append(exc.detail)
    if (role is Role.ASSOCIATION) != (association is not None):
        errors.append(
            "an association token, and only an association token, names its --association"
        )
    elif association is not None and not plain_id(association):
        errors.append(
            f"--association must be 1–{MAX_ASSOCIATION_LENGTH} letters, digits, '-' or '_'"
        )
    unknown = [c for c in counties if c not in SHIJIAZHUANG_COUNTIES]
    if unknown:
        errors.append(
            f"unknown county code(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(SHIJIAZHUANG_COUNTIES))}"
        )
    bad_sectors = [s for s in sectors if s not in SECTOR_VALUES]
    if bad_sectors:
        errors.append(
            f"unknown sector(s) {', '.join(bad_sectors)}; known: {', '.join(s for s in Sector)}"
        )
    return errors


def parse_access_token(raw: bytes | None) -> AccessToken:
    """Decode a token record strictly (from the topic or Redis).

    Raises :class:`topics.validation.InvalidRecord`: a token record nobody can
    read must grant nothing.
    """
    data = v.load_object(raw)
    token_hash = v.identifier(data, "token_hash")
    if len(token_hash) != TOKEN_HASH_LENGTH or any(c not in "0123456789abcdef" for c in token_hash):
        raise v.InvalidRecord(v.Reason.OUT_OF_RANGE, "'token_hash' is not sha256 hex", "token_hash")
    role = v.choice(data, "role", Role)
    assert role is not None  # required
    counties = _text_list(data, "counties")
    sectors = _text_list(data, "sectors")
    if not SECTOR_VALUES.issuperset(sectors):
        raise v.InvalidRecord(v.Reason.BAD_ENUM, "'sectors' holds an unknown sector", "sectors")
    created_at = v.timestamp(data, "created_at", future_ok=True)
    subject = v.uscc(data) if data.get("subject") is not None else None
    # Role and scope are checked like the CLI checks them: a record that claims a
    # subject or association scope it may not hold grants nothing.
    association = v.text(data, "association", required=False, max_length=MAX_NAME_LENGTH)
    if (role is Role.SUBJECT) != (subject is not None) or (role is Role.ASSOCIATION) != (
        association is not None
    ):
        raise v.InvalidRecord(
            v.Reason.INCONSISTENT,
            f"a {role.value} token with a subject or association scope "
            "it may not have (or without the one it needs)",
            "role",
        )
    if association is not None and not plain_id(association):
        raise v.InvalidRecord(
            v.Reason.OUT_OF_RANGE, "'association' is not a plain id", "association"
        )
    return AccessToken(
        token_hash=token_hash,
        name=str(v.text(data, "name", max_length=MAX_NAME_LENGTH)),
        role=role,
        counties=counties,
        sectors=[Sector(s) for s in sectors],
        created_at=created_at,
        revoked_at=v.timestamp(data, "revoked_at", required=False, future_ok=True),
        subject=subject,
        association=association,
    )


def _text_list(data: dict[str, Any], field: str) -> list[str]:
    value = data.get(field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise v.InvalidRecord(v.Reason.WRONG_TYPE, f"'{field}' must be a list of strings", field)
    return list(value)
