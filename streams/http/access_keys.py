"""The Redis keys of access control (kept apart from the serving view's keys).

| key | type | holds |
|---|---|---|
| ``cw:tokens`` | hash | token sha256 (hex) → the token's record JSON as on ``risk.access-tokens`` |

Like the serving view it is a cache: the worker refills it from the compacted
topic ``risk.access-tokens`` (streams/serving/tokens.py).
"""

from __future__ import annotations

from streams.serving.redis_keys import PREFIX

TOKENS = f"{PREFIX}:tokens"
