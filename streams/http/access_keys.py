"""The Redis keys of access control (kept apart from the serving view's keys).

| key | type | holds |
|---|---|---|
| ``cw:tokens`` | hash | token sha256 (hex) → the token's record JSON as on ``risk.access-tokens`` |
| ``cw:members:{association}`` | hash | subject USCC → its ``registry.memberships`` record |

Like the serving view it is a cache: the worker refills it from the compacted
topics ``risk.access-tokens`` (streams/serving/tokens.py) and
``registry.memberships`` (streams/serving/registers.py).
"""

from __future__ import annotations

from streams.serving.redis_keys import PREFIX

TOKENS = f"{PREFIX}:tokens"


def members(association: str) -> str:
    """An association's members (seed 十八): what its token may see."""
    return f"{PREFIX}:members:{association}"
