"""A subject as the spot-check draw sees it, from its live profile in the serving view.

Seed 七: the draw reads the live tiers, the triggers (a complaint or an IoT
limit exceedance in the profile's windows) and the list measures in force (the
key-attention list's ``more_spot_checks``, the red list's ``fewer_spot_checks``)
instead of a hand-made file (``creditwatch spotcheck draw --live``,
``docs/spotcheck.md``). Pure: the command reads the profiles from Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from detectors.spotcheck import SpotSubject
from pipeline.measures import measures_in_force
from topics.vocabulary import Tier


def spot_subject(profile: Mapping[str, Any], now: datetime) -> SpotSubject | None:
    """The subject of ``profile`` (``streams.serving.view.profile_of``) for a draw at
    ``now``; None while it has no tier.

    >>> profile = {"subject": "S1", "region": "130102", "sector": "food_drug", "tier": "A",
    ...            "complaints_30d": 1, "iot_exceedances_24h": 0, "supervision": None,
    ...            "red_list": {"list": "red_list", "expires_at": None, "measures": [
    ...                {"code": "fewer_spot_checks", "category": "incentive",
    ...                 "description": "…", "actions": ["spot_check"]}]}}
    >>> subject = spot_subject(profile, datetime.now().astimezone())
    >>> subject.tier.value, subject.triggered, sorted(subject.measures)
    ('A', True, ['fewer_spot_checks'])
    """
    tier = profile.get("tier")
    if tier is None:
        return None
    red_list = profile.get("red_list")
    in_force = [
        *measures_in_force(profile.get("supervision"), None, now),
        *measures_in_force({"lists": [red_list]} if red_list else None, None, now),
    ]
    triggered = bool(profile.get("complaints_30d") or profile.get("iot_exceedances_24h"))
    return SpotSubject(
        profile["subject"],
        profile["region"],
        profile["sector"],
        Tier(tier),
        triggered,
        frozenset(m["code"] for m in in_force),
    )
