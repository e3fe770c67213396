"""Decoded table values kept between batches: bounded, and forgotten on a rebalance."""

from __future__ import annotations

import gc

from streams import tables
from streams.tables import DecodedValues


def test_the_least_recently_used_value_goes_first() -> None:
    decoded: DecodedValues[int] = DecodedValues(2)
    decoded.put(b"a", 1)
    decoded.put(b"b", 2)
    assert decoded.get(b"a") == 1  # now the most recent
    decoded.put(b"c", 3)
    assert (decoded.get(b"a"), decoded.get(b"b"), decoded.get(b"c")) == (1, None, 3)


def test_a_revoked_partition_empties_every_live_instance_and_dead_ones_are_gone() -> None:
    kept: DecodedValues[int] = DecodedValues(4)
    kept.put(b"k", 1)
    registered = len(tables._everything_decoded)
    replaced: DecodedValues[int] = DecodedValues(4)  # an agent that restarted made a new one
    assert len(tables._everything_decoded) == registered + 1
    del replaced
    gc.collect()
    assert len(tables._everything_decoded) == registered
    tables._forget_decoded_values(None, signal=None)
    assert kept.get(b"k") is None
