"""Who is asking, and what they may see and do: roles, scope, masking, bearer tokens.

Seed 十七 asks that credit information is used lawfully and personal data
protected; issue 4 turns that into three roles (docs/access.md):

* **centre** (supervision centre): every alert, subject and action;
* **inspector**: alerts, subjects and tier changes of their own counties (and
  sectors, when the token names any); may acknowledge and resolve those alerts;
* **department** (department systems): tiers, lists and measures, read only;
  no alerts; of a subject's profile only its tier, and the measures it is under;
* **association** (issue 18, seed 十八): the tiers, lists and measures of its
  members, while they are members (``registry.memberships``), and nothing of
  any other subject;
* **subject** (issue 18, 信用修复"一网通办"): its own profile, records, lists
  and measures, and nothing of any other subject.

Everything here but :func:`authenticate` is pure, so web handlers, agents and
tests share one set of rules. Raw tokens are hashed on arrival and never
stored or logged.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.http.access_keys import members
from streams.http.token_store import find_token
from topics.access import AccessToken, Role
from topics.memberships import Membership, decode_membership
from topics.risk import alert_counties
from topics.validation import InvalidRecord

log = logging.getLogger(__name__)

#: Field names whose values are personal data, wherever they occur in a document.
PERSONAL_FIELDS = frozenset({"legal_rep_id", "phone", "person_id", "person_name"})
MASK = "*****"
#: What a department may read of a subject's profile: its tier and where that comes from.
DEPARTMENT_PROFILE_FIELDS = (
    "subject",
    "tier",
    "score",
    "version",
    "as_of",
    "region",
    "sector",
    "subject_type",  # seed 十一: a department treats the public sector apart
    "policy_version",
)
#: The time fields that say when a tier or list change took effect, first found wins.
CHANGE_TIMES = ("effective_at", "exited_at", "entered_at")
#: Longer "Authorization" values are not ours (new_token() makes 43 characters).
MAX_TOKEN_LENGTH = 256


class Unauthenticated(Exception):
    """No valid token: answer 401 with this message."""

    status = 401


class Forbidden(Exception):
    """A valid token whose role or scope does not cover the request: answer 403."""

    status = 403


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a valid token: its name (the audit actor), role and scope."""

    name: str
    role: Role
    counties: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()  # empty: every sector
    subject: str | None = None  # a subject token's own USCC
    association: str | None = None  # an association token's id
    #: An association's member register, by subject (loaded with the token).
    memberships: Mapping[str, Membership] = field(default_factory=dict)

    @classmethod
    def of(
        cls, token: AccessToken, memberships: Mapping[str, Membership] | None = None
    ) -> Principal:
        return cls(
            name=token.name,
            role=Role(token.role),
            counties=frozenset(token.counties),
            sectors=frozenset(str(s) for s in token.sectors),
            subject=token.subject,
            association=token.association,
            memberships=dict(memberships or {}),
        )

    def is_member(self, subject: Any, at: datetime) -> bool:
        """Whether ``subject`` was a member of this association at ``at`` (seed 十八): a
        membership that ended, or had not begun, shows nothing."""
        membership = self.memberships.get(subject) if isinstance(subject, str) else None
        return membership is not None and membership.member_at(at)

    def _in_scope(self, region: Any, sector: Any) -> bool:
        """An inspector's scope: one of their counties and, if they have sectors, one of those."""
        return region in self.counties and (not self.sectors or sector in self.sectors)

    def may_read_alert(self, alert: Mapping[str, Any]) -> bool:
        """Centres see every alert, departments none, inspectors those of their scope.

        An area-wide alert (no subject, the city's region) concerns several
        counties; an inspector sees it when one of its evidence facts names one
        of their counties ("county 130102") and its sector is theirs. Telling a
        county about a city-wide surge that does not touch it would be noise,
        and the alert's detail on other counties is not personal data.
        """
        if self.role is Role.CENTRE:
            return True
        if self.role is not Role.INSPECTOR:
            return False
        return any(self._in_scope(c, alert.get("sector")) for c in alert_counties(alert))

    def may_act_on_alerts(self, alert: Mapping[str, Any]) -> bool:
        """Acknowledge or resolve ``alert``: centres, and inspectors within their scope.

        An inspector may read an area-wide alert but not close it: it belongs
        to every county it names, so the centre acts on it.
        """
        if self.role is Role.CENTRE:
            return True
        return (
            self.role is Role.INSPECTOR
            and alert.get("subject") is not None
            and self.may_read_alert(alert)
        )

    def may_read_subject(self, profile: Mapping[str, Any], at: datetime | None = None) -> bool:
        """A subject's profile: centres all, inspectors in scope, departments all (tier only,
        see :func:`present_profile`): a department applies differentiated supervision
        (seed 七) per subject and needs to look its tier up. A subject reads only its
        own; an association only its members, members at ``at`` (default: now)."""
        if self.role is Role.INSPECTOR:
            return self._in_scope(profile.get("region"), profile.get("sector"))
        if self.role is Role.SUBJECT:
            return self.subject is not None and profile.get("subject") == self.subject
        if self.role is Role.ASSOCIATION:
            return self.is_member(profile.get("subject"), at or datetime.now(UTC))
        return True

    def may_read_tier_change(self, change: Mapping[str, Any]) -> bool:
        """Tier and list changes (the live stream, recent moves): as for subjects; an
        association sees a change made while the subject was its member."""
        return self.may_read_subject(change, change_time(change))

    def may_read_alerts(self) -> bool:
        """Alerts are supervision's working material: centres and inspectors only."""
        return self.role in (Role.CENTRE, Role.INSPECTOR)

    def may_manage_silences(self) -> bool:
        """Silencing hides alerts from everyone, so only a centre may."""
        return self.role is Role.CENTRE

    def may_read_tiers_lists_measures(self) -> bool:
        """Tier distribution, list changes and measures are for every role (seed 七, 十一)."""
        return True

    def may_read_person_measures(self) -> bool:
        """A person's measures (seed 十一) are for officials and department systems: a
        subject or an association has no business with other people's records."""
        return self.role in (Role.CENTRE, Role.INSPECTOR, Role.DEPARTMENT)

    def may_see_personal_data(self) -> bool:
        return self.role is Role.CENTRE


def change_time(change: Mapping[str, Any]) -> datetime | None:
    """When a tier change (``effective_at``) or list change (its exit, else its entry)
    took effect; None for a document without one.

    >>> change_time({"entered_at": "2026-01-20T02:00:00+00:00", "exited_at": None}).isoformat()
    '2026-01-20T02:00:00+00:00'
    """
    for name in CHANGE_TIMES:
        value = change.get(name)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return None
    return None


def require(allowed: bool, message: str) -> None:
    """Raise :class:`Forbidden` with ``message`` unless ``allowed``."""
    if not allowed:
        raise Forbidden(message)


def mask_value(value: Any) -> Any:
    """``"LR0001234789"`` → ``"L*****9"``; short values are masked entirely.

    Ids of people are short and structured: the five characters of eleven
    shown before left a million candidates, few enough to try against anything
    that confirms one (issue 20). One character at each end tells two values
    apart at a glance and narrows nothing worth the name. A fixed number of
    stars hides the length too. None stays None (nothing to hide).
    """
    if value is None:
        return None
    text = str(value)
    return f"{text[:1]}{MASK}{text[-1:]}" if len(text) >= 8 else MASK


def mask_personal(document: Any, principal: Principal) -> Any:
    """A copy of ``document`` with personal data masked unless ``principal`` may see it."""
    if principal.may_see_personal_data():
        return copy.deepcopy(document)
    return _masked(document)


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: mask_value(item) if key in PERSONAL_FIELDS else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def present_alert(alert: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
    """An alert as ``principal`` may see it (check :meth:`Principal.may_read_alert` first)."""
    return dict(mask_personal(alert, principal))


def present_profile(profile: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
    """A subject profile as ``principal`` may see it: departments get the tier fields only."""
    if principal.role is Role.DEPARTMENT:
        profile = {key: profile[key] for key in DEPARTMENT_PROFILE_FIELDS if key in profile}
    elif principal.role is Role.ASSOCIATION:
        lists = (profile.get("supervision") or {}).get("lists", [])
        profile = {key: profile[key] for key in DEPARTMENT_PROFILE_FIELDS if key in profile}
        profile["lists"] = lists
    return dict(mask_personal(profile, principal))


def new_token() -> str:
    """A fresh raw token (256 bits); show it once, store only :func:`token_hash`."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 hex of a raw token: what topics and Redis hold.

    A plain hash suffices (no salt or slow hash): tokens are 256 random bits,
    not passwords, so there is nothing to guess from the hash.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization_header: str | None) -> str:
    """The raw token of an ``Authorization: Bearer <token>`` header, or Unauthenticated."""
    if not authorization_header or not authorization_header.strip():
        raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("malformed Authorization header; expected 'Bearer <token>'")
    return token


async def authenticate_token(token: str, redis: Any) -> Principal:
    """The principal of a raw token (from the ``Authorization`` header: never a cookie).

    Redis errors propagate: the caller answers 503, never lets the request through.
    """
    stored = await find_token(redis, token_hash(token))
    if stored is None:
        raise Unauthenticated("unknown token")
    if stored.revoked:
        raise Unauthenticated("token revoked")
    if stored.association is None:
        return Principal.of(stored)
    return Principal.of(stored, await member_register(redis, stored.association))


async def member_register(redis: Any, association: str) -> dict[str, Membership]:
    """An association's members as the register (Redis ``cw:members:{id}``) holds them."""
    found: dict[str, Membership] = {}
    for raw in (await redis.hgetall(members(association))).values():
        try:
            membership = decode_membership(raw)
        except InvalidRecord as exc:  # the mirror stores only valid records
            log.error("unreadable membership of %s in Redis: %s", association, exc)
            continue
        found[membership.subject] = membership
    return found


async def authenticate(authorization_header: str | None, redis: Any) -> Principal:
    """The principal of an ``Authorization`` header, checked against Redis ``cw:tokens``.

    Raises :class:`Unauthenticated` (401) for a missing, malformed, unknown or
    revoked token; ``redis`` is a ``redis.asyncio`` client.
    """
    return await authenticate_token(bearer_token(authorization_header), redis)
